using System.Text.RegularExpressions;

namespace Portal.Jobs.Mail;

/// <summary>
/// What a mailbox, an address, a forwarder and a stored password may look like: one set of rules for what a user types
/// and for what another node sends (a child, a transfer source), which is untrusted input in the same way. Everything
/// that ends up in the mail servers' files (passwd-files, Postfix maps) and in mail paths passes these.
/// </summary>
public static partial class MailRules
{
    /// <summary>The largest quota a mailbox may have (10 TiB, as a user may ask for).</summary>
    public const long MaxQuotaBytes = 10_485_760L * 1024 * 1024;

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$")]
    private static partial Regex LocalPartPattern();

    // RFC 5321 dot-atom local part (atext and dots) and a domain of LDH labels: no spaces, commas, quotes or controls,
    // so it is always one address in Postfix's alias map.
    [GeneratedRegex(@"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex MailboxPattern();

    [GeneratedRegex("^(?!-)[a-z0-9-]{1,63}(?<!-)$")]
    private static partial Regex LabelPattern();

    // {SHA512-CRYPT}$6$[rounds=N$]salt$hash, in crypt's alphabet: the only scheme Portal writes.
    [GeneratedRegex(@"^\{SHA512-CRYPT\}\$6\$(?:rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$")]
    private static partial Regex PasswordHashPattern();

    public const string LocalPartRule = "The part before @ may hold lowercase letters, digits, '.', '_', '+' and '-' (at most 64), starting and ending with a letter or digit.";

    /// <summary>A mailbox's name on this domain (and a folder name under the domain's folder: no '/', no "..").</summary>
    public static bool IsLocalPart(string? value) => value is not null && LocalPartPattern().IsMatch(value) && !value.Contains("..", StringComparison.Ordinal);

    /// <summary>A domain as Portal stores it: lowercase ASCII labels (punycode for others), at least two.</summary>
    public static bool IsDomain(string? value)
    {
        if (value is null || value.Length is 0 or > 253)
        {
            return false;
        }

        var labels = value.Split('.');
        return labels.Length >= 2 && labels.All(l => LabelPattern().IsMatch(l)) && !labels[^1].All(char.IsAsciiDigit);
    }

    /// <summary>One RFC 5321 mailbox (local@domain) and nothing else: where a forwarder may send mail.</summary>
    public static bool IsSingleAddress(string? value) => value is not null && value.Length <= 254 && MailboxPattern().IsMatch(value);

    /// <summary>A password as Portal stores it: a SHA512-CRYPT hash, with no character that ends a passwd-file field.</summary>
    public static bool IsPasswordHash(string? value) => value is not null && PasswordHashPattern().IsMatch(value);

    /// <summary>A program a forwarder pipes to: an absolute path on one line.</summary>
    public static bool IsPipeCommand(string? value) =>
        value is { Length: > 1 and <= 1000 } && value.StartsWith('/') && !value.Any(char.IsControl);

    /// <summary>
    /// Everything wrong with an account's mail configuration as another node sent it, each item named; empty when it
    /// may be taken as it is. Forwarders must start from the account's own domain.
    /// </summary>
    public static IReadOnlyList<string> Problems(MailConfiguration configuration, string domain)
    {
        var problems = new List<string>();
        if (configuration.Addresses is null || configuration.Forwarders is null)
        {
            return ["the configuration lacks its addresses or forwarders"];
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var address in configuration.Addresses)
        {
            var name = address.LocalPart ?? "";
            if (!IsLocalPart(name))
            {
                problems.Add($"mailbox \"{Printable(name)}\": not a valid mailbox name ({LocalPartRule})");
            }
            else if (!seen.Add(name))
            {
                problems.Add($"mailbox \"{name}\": listed twice");
            }

            if (!IsPasswordHash(address.PasswordHash))
            {
                problems.Add($"mailbox \"{Printable(name)}\": its password is not a SHA512-CRYPT hash as Portal stores them");
            }

            if (address.QuotaBytes is < 0 or > MaxQuotaBytes)
            {
                problems.Add($"mailbox \"{Printable(name)}\": a quota of {address.QuotaBytes} bytes is out of range");
            }

            problems.AddRange(SieveScript.Problems(address.Sieve).Select(p => $"mailbox \"{Printable(name)}\": {p}"));
        }

        foreach (var forwarder in configuration.Forwarders)
        {
            var source = forwarder.Source ?? "";
            var at = source.LastIndexOf('@');
            if (at < 0 || !IsLocalPart(source[..at]) || !string.Equals(source[(at + 1)..], domain, StringComparison.Ordinal))
            {
                problems.Add($"forwarder from \"{Printable(source)}\": not an address of {domain}");
            }

            var destination = forwarder.Destination ?? "";
            if (forwarder.IsPipe ? !IsPipeCommand(destination) : !IsSingleAddress(destination))
            {
                problems.Add($"forwarder from \"{Printable(source)}\": \"{Printable(destination)}\" is not {(forwarder.IsPipe ? "a program's absolute path" : "one email address")}");
            }
        }

        return problems;
    }

    /// <summary>
    /// Refuses, whole, a configuration another node sent that breaks the rules, naming the node and every bad item:
    /// nothing of it may be written (or lead to anything being deleted).
    /// </summary>
    public static void EnsureAcceptable(MailConfiguration configuration, string domain, string from)
    {
        if (!IsDomain(domain))
        {
            throw new UntrustedDataException($"{from} sent an account whose domain \"{Printable(domain)}\" is not a domain name; nothing of it was taken.");
        }

        var problems = Problems(configuration, domain);
        if (problems.Count > 0)
        {
            throw new UntrustedDataException(
                $"{from} sent mail settings of {domain} that Portal refuses: {string.Join("; ", problems.Take(10))}{(problems.Count > 10 ? $" (and {problems.Count - 10} more)" : "")}. " +
                "Nothing of them was taken and nothing was changed here. If that node should not send such settings, it may be compromised: check it before you trust it again.");
        }
    }

    /// <summary>
    /// What a node keeps of mail settings it was sent, checked like the messages: each mailbox with the same password
    /// hash, quota, autoresponder and filters, and the same forwarders (a pipe may arrive turned off). Returns what
    /// differs, in words; empty when the node keeps them as sent.
    /// </summary>
    public static IReadOnlyList<string> Differences(MailConfiguration sent, MailConfiguration kept)
    {
        static string SieveOf(MailAddressConfig a) => JsonSerializer.Serialize(a.Sieve is { IsEmpty: true, Vacation: null } ? null : a.Sieve);
        var differences = new List<string>();
        var keptBoxes = kept.Addresses.ToDictionary(a => a.LocalPart, StringComparer.Ordinal);
        foreach (var box in sent.Addresses)
        {
            if (!keptBoxes.Remove(box.LocalPart, out var other))
            {
                differences.Add($"mailbox {box.LocalPart} is missing");
            }
            else if (other.PasswordHash != box.PasswordHash || other.QuotaBytes != box.QuotaBytes)
            {
                differences.Add($"mailbox {box.LocalPart} has another password or quota");
            }
            else if (SieveOf(other) != SieveOf(box))
            {
                differences.Add($"mailbox {box.LocalPart} has other autoresponder or filters");
            }
        }

        differences.AddRange(keptBoxes.Keys.Select(k => $"mailbox {k} was not sent"));
        static string Key(MailForwarderConfig f) => $"{f.Source}>{(f.IsPipe ? "|" : "")}{f.Destination}{(f.IsPipe ? "" : f.Enabled ? "" : " off")}";
        var sentForwarders = sent.Forwarders.Select(Key).Order(StringComparer.Ordinal).ToList();
        var keptForwarders = kept.Forwarders.Select(Key).Order(StringComparer.Ordinal).ToList();
        if (!sentForwarders.SequenceEqual(keptForwarders))
        {
            differences.Add("the forwarders differ");
        }

        return differences;
    }

    /// <summary>A value as it can be shown in a message: control characters made visible, long ones cut.</summary>
    public static string Printable(string value)
    {
        var shown = string.Concat(value.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        return shown.Length > 120 ? shown[..120] + "…" : shown;
    }
}

/// <summary>Data from another node broke Portal's rules; nothing of it was taken. The message names the node and the item.</summary>
public sealed class UntrustedDataException(string message) : Exception(message);
