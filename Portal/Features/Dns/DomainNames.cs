using System.Text.RegularExpressions;

namespace Portal.Features.Dns;

/// <summary>Domain names as users type them and as DNS stores them: internationalised names become punycode.</summary>
public static partial class DomainNames
{
    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    [GeneratedRegex("^(?!-)[a-z0-9-]{1,63}(?<!-)$")]
    private static partial Regex LabelPattern();

    /// <summary>Normalises a domain to its ASCII form, or says what is wrong with it.</summary>
    public static bool TryNormalize(string? input, out string ascii, out string? problem)
    {
        ascii = "";
        problem = null;
        var text = (input ?? "").Trim().TrimEnd('.').ToLowerInvariant();
        if (text.StartsWith("www.", StringComparison.Ordinal))
        {
            problem = $"Give the domain without \"www.\" (\"{text[4..]}\"); www is added for you.";
            return false;
        }

        try
        {
            ascii = text.Length == 0 ? "" : Idn.GetAscii(text);
        }
        catch (ArgumentException)
        {
            problem = $"\"{input}\" is not a domain name; write it like example.com or bücher.example.";
            return false;
        }

        var labels = ascii.Split('.');
        if (ascii.Length is 0 or > 253 || labels.Length < 2 || !labels.All(l => LabelPattern().IsMatch(l)) || labels[^1].All(char.IsAsciiDigit))
        {
            problem = $"\"{input}\" is not a domain name; write it like example.com (letters, digits and hyphens, at least two labels).";
            ascii = "";
            return false;
        }

        return true;
    }

    /// <summary>Whether the text is already a host name as DNS stores it: ASCII, lowercase, two labels or more, at most 253 characters.</summary>
    public static bool IsHostName(string? text)
    {
        var labels = (text ?? "").Split('.');
        return text is { Length: > 0 and <= 253 } && labels.Length >= 2 && labels.All(l => LabelPattern().IsMatch(l)) && !labels[^1].All(char.IsAsciiDigit);
    }

    /// <summary>What someone typed into a domain filter, Unicode or not, as the start of a stored (ASCII) name.</summary>
    public static string ToAsciiPrefix(string typed)
    {
        var text = typed.Trim().ToLowerInvariant();
        try
        {
            return text.All(char.IsAscii) ? text : Idn.GetAscii(text.TrimEnd('.'));
        }
        catch (ArgumentException)
        {
            return text;
        }
    }

    /// <summary>The name as people read it (Unicode for punycode labels).</summary>
    public static string ToUnicode(string ascii)
    {
        try
        {
            return Idn.GetUnicode(ascii);
        }
        catch (ArgumentException)
        {
            return ascii;
        }
    }
}
