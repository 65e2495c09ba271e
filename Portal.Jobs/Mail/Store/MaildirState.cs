using System.Text.RegularExpressions;

namespace Portal.Jobs.Mail;

/// <summary>
/// What a mail client sees of a mailbox beyond its messages, as Dovecot keeps it next to them: per folder the
/// <c>dovecot-uidlist</c> (UIDVALIDITY, the next UID and each message's UID, by file name) and <c>dovecot-keywords</c>
/// (the names behind the keyword letters in file names); at the mailbox's root the <c>subscriptions</c> and the
/// <c>dovecot-uidvalidity</c> seed. A move carries them with the messages (message files keep their names), so after it
/// a client finds the same UIDVALIDITY, the same UIDs (and POP3 UIDLs, made of both), keywords and subscriptions.
/// Dovecot's index files are caches: they stay behind, and the receiver removes any it had, to be rebuilt from these.
/// </summary>
public static partial class MaildirState
{
    public const string UidList = "dovecot-uidlist";
    public const string Keywords = "dovecot-keywords";
    public const string Subscriptions = "subscriptions";
    public const string UidValidity = "dovecot-uidvalidity";

    /// <summary>A uidlist is about 80 bytes a message: this is over 800,000 messages in one folder.</summary>
    public const long MaxUidListBytes = 64L * 1024 * 1024;

    public const long MaxOtherBytes = 1024 * 1024;

    /// <summary>Whether a path (relative to a mailbox) names a state file a move carries, and nothing else.</summary>
    public static bool IsStatePath(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Length > 300 || path.Contains('\\') || path.Contains('\0'))
        {
            return false;
        }

        var parts = path.Split('/');
        return parts.Length switch
        {
            1 => parts[0] is UidList or Keywords or Subscriptions or UidValidity || SeedPattern().IsMatch(parts[0]),
            2 => IsFolderName(parts[0]) && parts[1] is UidList or Keywords,
            _ => false,
        };
    }

    /// <summary>The most a state file may hold.</summary>
    public static long MaxBytes(string path) => path.EndsWith(UidList, StringComparison.Ordinal) ? MaxUidListBytes : MaxOtherBytes;

    /// <summary>The state files a mailbox has now, with their sizes (relative paths).</summary>
    public static IEnumerable<MailFile> Enumerate(string mailbox)
    {
        if (!Directory.Exists(mailbox))
        {
            yield break;
        }

        foreach (var folder in Maildir.Folders(mailbox))
        {
            var dir = folder.Length == 0 ? mailbox : Path.Combine(mailbox, folder);
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (var file in new DirectoryInfo(dir).EnumerateFiles())
            {
                var relative = folder.Length == 0 ? file.Name : $"{folder}/{file.Name}";
                if (IsStatePath(relative))
                {
                    yield return new MailFile(relative, file.Length);
                }
            }
        }
    }

    /// <summary>
    /// What is wrong with a state file's content, or null: another node sent it, so it must look like what Dovecot
    /// writes (text lines, a uidlist's version 3 header and "uid ... :filename" lines, "n keyword" lines) and be bounded.
    /// </summary>
    public static string? ContentProblem(string path, ReadOnlySpan<byte> content)
    {
        if (content.Length > MaxBytes(path))
        {
            return $"{path} is {content.Length} bytes; at most {MaxBytes(path)} are taken.";
        }

        if (content.IndexOf((byte)0) >= 0)
        {
            return $"{path} holds a NUL byte; it is not a Dovecot state file.";
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(content);
        }
        catch (DecoderFallbackException)
        {
            return $"{path} is not UTF-8 text.";
        }

        var lines = text.Split('\n');
        var name = path[(path.LastIndexOf('/') + 1)..];
        if (lines.Any(l => l.Length > 16 * 1024))
        {
            return $"{path} has a line longer than 16 KiB.";
        }

        return name switch
        {
            UidList when !UidListHeader().IsMatch(lines[0]) => $"{path} does not start as a version 3 uidlist (\"3 V<uidvalidity> N<next uid> ...\").",
            UidList when lines.Skip(1).Any(l => l.Length > 0 && !UidListLine().IsMatch(l)) => $"{path} has a line that is not \"<uid> ... :<file name>\".",
            Keywords when lines.Any(l => l.Length > 0 && !KeywordLine().IsMatch(l)) => $"{path} has a line that is not \"<number> <keyword>\".",
            UidValidity when !SeedContent().IsMatch(text) => $"{path} is not a hexadecimal UIDVALIDITY.",
            _ when name.StartsWith(UidValidity + ".", StringComparison.Ordinal) && content.Length > 0 => $"{path} should be empty.",
            _ => null,
        };
    }

    /// <summary>
    /// Removes Dovecot's caches of a folder whose state was just replaced (its index, its log and cache; at the root
    /// also the mailbox list index), so Dovecot rebuilds them from the new state instead of trusting old ones. Only
    /// before a mailbox is served here: a move sends state before its switch, never after.
    /// </summary>
    public static void ForgetIndexes(string mailbox, string statePath)
    {
        var slash = statePath.IndexOf('/');
        var folder = slash < 0 ? mailbox : Path.Combine(mailbox, statePath[..slash]);
        var patterns = slash < 0 ? new[] { "dovecot.index*", "dovecot.list.index*" } : ["dovecot.index*"];
        foreach (var pattern in patterns)
        {
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(folder, pattern))
            {
                File.Delete(file);
            }
        }
    }

    private static bool IsFolderName(string part) =>
        part.Length is > 1 and <= 255 && part[0] == '.' && part != ".." && !part.Contains('/') && part.All(c => !char.IsControl(c));

    [GeneratedRegex(@"^dovecot-uidvalidity\.[0-9a-f]{1,16}$")]
    private static partial Regex SeedPattern();

    [GeneratedRegex(@"^3 V\d+ N\d+( .*)?$")]
    private static partial Regex UidListHeader();

    [GeneratedRegex(@"^\d+( \S+)* :[^/]+$")]
    private static partial Regex UidListLine();

    [GeneratedRegex(@"^\d+ \S+$")]
    private static partial Regex KeywordLine();

    [GeneratedRegex(@"^[0-9a-fA-F]{1,16}\n?$")]
    private static partial Regex SeedContent();
}
