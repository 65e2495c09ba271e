namespace Portal.Features.Dns;

/// <summary>
/// The Public Suffix List (publicsuffix.org) as Debian's <c>publicsuffix</c> package keeps it current: which names
/// are suffixes under which anyone may register (com, co.uk, github.io...). An account may not take one of those as
/// its domain: its zone would answer for every name below it.
/// </summary>
public sealed class PublicSuffixList
{
    private static readonly IdnMapping Idn = new();
    private readonly HashSet<string> _rules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _wildcards = new(StringComparer.Ordinal);
    private readonly HashSet<string> _exceptions = new(StringComparer.Ordinal);

    private PublicSuffixList()
    {
    }

    public int RuleCount => _rules.Count + _wildcards.Count + _exceptions.Count;

    public static PublicSuffixList Load(string path) => Parse(File.ReadLines(path));

    public static PublicSuffixList Parse(IEnumerable<string> lines)
    {
        var list = new PublicSuffixList();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }

            var rule = line.Split(' ', '\t')[0];
            if (rule.StartsWith("!", StringComparison.Ordinal))
            {
                list._exceptions.Add(Ascii(rule[1..]));
            }
            else if (rule.StartsWith("*.", StringComparison.Ordinal))
            {
                list._wildcards.Add(Ascii(rule[2..]));
            }
            else
            {
                list._rules.Add(Ascii(rule));
            }
        }

        return list;
    }

    /// <summary>Whether the (ASCII, lowercase) domain is itself a public suffix, so nobody may own it as an account.</summary>
    public bool IsPublicSuffix(string domain)
    {
        if (_exceptions.Contains(domain))
        {
            return false;
        }

        if (_rules.Contains(domain))
        {
            return true;
        }

        var dot = domain.IndexOf('.');
        return dot > 0 && _wildcards.Contains(domain[(dot + 1)..]);
    }

    private static string Ascii(string name)
    {
        try
        {
            return Idn.GetAscii(name.ToLowerInvariant());
        }
        catch (ArgumentException)
        {
            return name.ToLowerInvariant();
        }
    }
}
