using System.Text.RegularExpressions;

namespace Portal.Jobs.Mail;

/// <summary>
/// A mailbox's autoresponder (vacation) and filters, as its owner sets them. Portal writes the Sieve script from these
/// (<see cref="SieveScript"/>); nobody writes Sieve by hand, so a script never holds more than these rules allow.
/// </summary>
public sealed record MailboxSieve(VacationReply? Vacation, IReadOnlyList<MailFilter> Filters)
{
    public static readonly MailboxSieve None = new(null, []);

    public bool IsEmpty => (Vacation is null || !Vacation.Enabled) && Filters.Count == 0;
}

/// <summary>
/// An automatic reply to each sender at most once per <paramref name="Days"/>, between <paramref name="Start"/> and
/// <paramref name="End"/> (days in UTC, both included; none: from now on, until turned off).
/// </summary>
public sealed record VacationReply(bool Enabled, string Subject, string Body, DateOnly? Start = null, DateOnly? End = null, int Days = 1);

/// <summary>
/// A filter: when the message's <paramref name="Field"/> ("from", "to" or "subject") contains (or "is") the value, it
/// is moved to the folder <paramref name="Target"/>, discarded, or forwarded (a copy kept) to the address <paramref name="Target"/>.
/// </summary>
public sealed record MailFilter(string Field, string Match, string Value, string Action, string? Target = null);

/// <summary>The rules a mailbox's Sieve settings follow, whoever sent them (a user, or another node), and the script they make.</summary>
public static partial class SieveScript
{
    public const int MaxFilters = 50;
    public const int MaxSubject = 200;
    public const int MaxBody = 4000;
    public const int MaxValue = 200;

    public static readonly IReadOnlyList<string> Fields = ["from", "to", "subject"];
    public static readonly IReadOnlyList<string> Matches = ["contains", "is"];
    public static readonly IReadOnlyList<string> Actions = ["move", "discard", "forward"];

    public const string FolderRule = "A folder name holds letters, digits, spaces, '-' and '_' (at most 64), and does not start with a space.";

    /// <summary>What is wrong with these settings, each in words a user can act on; empty when they are fine.</summary>
    public static IReadOnlyList<string> Problems(MailboxSieve? sieve)
    {
        var problems = new List<string>();
        if (sieve is null)
        {
            return problems;
        }

        if (sieve.Filters is null)
        {
            return ["the filters are missing"];
        }

        if (sieve.Vacation is { } v)
        {
            // A reply that is off may be left unwritten; whatever is written follows the rules.
            if ((v.Subject ?? "").Length > MaxSubject || (v.Subject ?? "").Any(char.IsControl) || v.Enabled && string.IsNullOrWhiteSpace(v.Subject))
            {
                problems.Add($"The autoresponder's subject must be one line of 1 to {MaxSubject} characters.");
            }

            if ((v.Body ?? "").Length > MaxBody || (v.Body ?? "").Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')) || v.Enabled && string.IsNullOrWhiteSpace(v.Body))
            {
                problems.Add($"The autoresponder's message must hold 1 to {MaxBody} characters of text.");
            }

            if (v.Days is < 1 or > 30)
            {
                problems.Add("The autoresponder answers each sender at most once in 1 to 30 days.");
            }

            if (v.Start is { } start && v.End is { } end && end < start)
            {
                problems.Add("The autoresponder's last day is before its first.");
            }
        }

        if (sieve.Filters.Count > MaxFilters)
        {
            problems.Add($"At most {MaxFilters} filters per mailbox.");
        }

        for (var i = 0; i < sieve.Filters.Count; i++)
        {
            var f = sieve.Filters[i];
            var n = $"Filter {i + 1}";
            if (f is null)
            {
                problems.Add($"{n} is empty.");
                continue;
            }

            if (!Fields.Contains(f.Field ?? ""))
            {
                problems.Add($"{n}: look at the sender (from), the recipients (to) or the subject.");
            }

            if (!Matches.Contains(f.Match ?? ""))
            {
                problems.Add($"{n}: match with \"contains\" or \"is\".");
            }

            if (string.IsNullOrEmpty(f.Value) || f.Value.Length > MaxValue || f.Value.Any(char.IsControl))
            {
                problems.Add($"{n}: the text to look for must be one line of 1 to {MaxValue} characters.");
            }

            switch (f.Action)
            {
                case "move" when !IsFolder(f.Target):
                    problems.Add($"{n}: \"{MailRules.Printable(f.Target ?? "")}\" is not a folder name. {FolderRule}");
                    break;
                case "forward" when !MailRules.IsSingleAddress(f.Target):
                    problems.Add($"{n}: \"{MailRules.Printable(f.Target ?? "")}\" is not one email address to forward to.");
                    break;
                case "move" or "forward" or "discard":
                    break;
                default:
                    problems.Add($"{n}: the action is move, discard or forward.");
                    break;
            }
        }

        return problems;
    }

    public static bool IsFolder(string? name) => name is not null && FolderPattern().IsMatch(name) && !string.Equals(name, "INBOX", StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex("^[A-Za-z0-9_-][A-Za-z0-9 _-]{0,63}$")]
    private static partial Regex FolderPattern();

    /// <summary>
    /// The Sieve script of a mailbox (RFC 5228 with vacation, fileinto, mailbox, copy, date and relational), or null when
    /// it has nothing to do. Every user value is a quoted string with its quotes and backslashes escaped; the rules
    /// above keep line breaks out of all but the reply's text.
    /// </summary>
    public static string? Render(MailboxSieve? sieve, string address)
    {
        if (sieve is null || sieve.IsEmpty)
        {
            return null;
        }

        if (Problems(sieve) is { Count: > 0 } problems)
        {
            throw new ArgumentException("Sieve settings that break the rules: " + string.Join(" ", problems), nameof(sieve));
        }

        var text = new StringBuilder();
        text.Append("# Written by Portal from this mailbox's autoresponder and filters; changes here are overwritten.\n");
        text.Append("require [\"vacation\", \"fileinto\", \"mailbox\", \"copy\", \"date\", \"relational\"];\n");
        foreach (var f in sieve.Filters)
        {
            var test = f.Field == "subject"
                ? $"header :{f.Match} \"subject\" {Quote(f.Value)}"
                : $"address :{f.Match} \"{f.Field}\" {Quote(f.Value)}";
            var action = f.Action switch
            {
                "move" => $"fileinto :create {Quote(f.Target!)};\n  stop;",
                "discard" => "discard;\n  stop;",
                _ => $"redirect :copy {Quote(f.Target!)};",
            };
            text.Append(CultureInfo.InvariantCulture, $"if {test} {{\n  {action}\n}}\n");
        }

        if (sieve.Vacation is { Enabled: true } v)
        {
            var when = new List<string>();
            if (v.Start is { } start)
            {
                when.Add($"currentdate :zone \"+0000\" :value \"ge\" \"date\" \"{start:yyyy-MM-dd}\"");
            }

            if (v.End is { } end)
            {
                when.Add($"currentdate :zone \"+0000\" :value \"le\" \"date\" \"{end:yyyy-MM-dd}\"");
            }

            var reply = string.Create(CultureInfo.InvariantCulture, $"vacation :days {v.Days} :subject {Quote(v.Subject)} :addresses [{Quote(address)}] {Quote(v.Body.Replace("\r\n", "\n", StringComparison.Ordinal))};");
            text.Append(when.Count == 0 ? reply + "\n" : $"if allof({string.Join(", ", when)}) {{\n  {reply}\n}}\n");
        }

        return text.ToString();
    }

    /// <summary>A Sieve quoted string (RFC 5228 2.4.2): backslash and double quote escaped.</summary>
    public static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
