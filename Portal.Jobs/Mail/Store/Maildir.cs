using System.IO.Enumeration;

namespace Portal.Jobs.Mail;

/// <summary>
/// The Maildir++ layout Dovecot serves with <c>mail_location = maildir:ROOT/%d/%n</c>: one tree per address at
/// <c>ROOT/domain/localpart/</c>, with <c>cur</c>, <c>new</c>, <c>tmp</c> and dotted subfolders (<c>.Sent/cur</c>...).
/// A message file never changes once written; flags are the part of its name after ":2," and change by rename.
/// </summary>
public static class Maildir
{
    public static readonly string[] Subdirectories = ["cur", "new", "tmp"];

    /// <summary>Folders every new mailbox gets, as mail clients expect them.</summary>
    public static readonly string[] DefaultFolders = [".Drafts", ".Sent", ".Trash", ".Junk"];

    /// <summary>
    /// The one place a mailbox's path is made: the domain and the local part must follow <see cref="MailRules"/>, and
    /// the resolved path must lie inside the domain's own folder under the mail root, so no name (from a user, or from
    /// another node) can reach another account's mail.
    /// </summary>
    public static string MailboxPath(string mailRoot, string domain, string localPart)
    {
        if (!MailRules.IsDomain(domain) || !MailRules.IsLocalPart(localPart))
        {
            throw new UnsafeMailPathException($"\"{MailRules.Printable(localPart)}@{MailRules.Printable(domain)}\" is not a mailbox name Portal accepts; nothing was read or written for it.");
        }

        var domainFolder = Path.GetFullPath(Path.Combine(mailRoot, domain)) + Path.DirectorySeparatorChar;
        var path = Path.GetFullPath(Path.Combine(domainFolder, localPart));
        if (!path.StartsWith(domainFolder, StringComparison.Ordinal) || path.Length == domainFolder.Length)
        {
            throw new UnsafeMailPathException($"The mailbox {localPart}@{domain} would lie outside {domainFolder}; nothing was read or written for it.");
        }

        return path;
    }

    /// <summary>
    /// A domain's folder under the mail root (every mailbox of the domain), for removing it whole: the name must follow
    /// <see cref="MailRules"/> and the resolved path must be a folder directly inside the mail root.
    /// </summary>
    public static string DomainFolder(string mailRoot, string domain)
    {
        if (!MailRules.IsDomain(domain))
        {
            throw new UnsafeMailPathException($"\"{MailRules.Printable(domain)}\" is not a domain Portal accepts; nothing was read or written for it.");
        }

        var root = Path.GetFullPath(mailRoot).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var path = Path.GetFullPath(Path.Combine(root, domain));
        if (!path.StartsWith(root, StringComparison.Ordinal) || path.Length == root.Length || path[root.Length..].Contains(Path.DirectorySeparatorChar))
        {
            throw new UnsafeMailPathException($"The mail of {domain} would lie outside {root}; nothing was read or written for it.");
        }

        return path;
    }

    /// <summary>Removes a domain's folder once its last mailbox has gone.</summary>
    public static void RemoveDomainFolderIfEmpty(string mailRoot, string domain)
    {
        var folder = Path.Combine(mailRoot, domain);
        if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
        {
            Directory.Delete(folder);
        }
    }

    /// <summary>
    /// What a domain's folder holds: its messages (in <c>cur</c> and <c>new</c> of any mailbox and folder), the first few
    /// of them by path (relative to the mail root), and the other files, which are what Dovecot keeps beside the
    /// messages (indexes, UID lists, quota counts, half-written deliveries in <c>tmp</c>) and makes again.
    /// </summary>
    public static DomainContents Contents(string mailRoot, string domain)
    {
        var folder = DomainFolder(mailRoot, domain);
        if (!Directory.Exists(folder))
        {
            return new DomainContents(0, [], 0);
        }

        var (messages, examples) = (0L, new List<string>());
        foreach (var mailbox in Directory.EnumerateDirectories(folder))
        {
            foreach (var path in EnumeratePaths(mailbox))
            {
                if (messages++ < 3)
                {
                    examples.Add($"{domain}/{Path.GetFileName(mailbox)}/{path}");
                }
            }
        }

        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).LongCount();
        return new DomainContents(messages, examples, files - messages);
    }

    /// <summary>A message's identity from its path inside a mailbox (<c>cur/name:2,S</c>): the file name without the flags.</summary>
    public static string MessageKey(string path) => BaseName(path[(path.LastIndexOf('/') + 1)..]);

    /// <summary>A message's identity inside a mailbox: its name without the flags.</summary>
    public static string BaseName(string fileName)
    {
        var colon = fileName.IndexOf(':');
        return colon < 0 ? fileName : fileName[..colon];
    }

    /// <summary>Checks a path received from elsewhere: relative, inside a mailbox, in a message directory.</summary>
    public static bool IsSafeRelativePath(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Length > 1024 || Path.IsPathRooted(path) || path.Contains('\\') || path.Contains('\0'))
        {
            return false;
        }

        var parts = path.Split('/');
        if (parts.Any(p => p.Length == 0 || p == "." || p == ".."))
        {
            return false;
        }

        // cur/<file>, new/<file>, or .Folder/cur|new/<file>
        return parts.Length switch
        {
            2 => parts[0] is "cur" or "new",
            3 => parts[0].StartsWith('.') && parts[1] is "cur" or "new",
            _ => false,
        };
    }

    /// <summary>A unique Maildir file name for a new message (time, unique part, host, size).</summary>
    public static string NewFileName(long size, string host)
    {
        var now = DateTimeOffset.UtcNow;
        var unique = $"M{now.ToUnixTimeMilliseconds() % 1000:D3}P{Environment.ProcessId}Q{Interlocked.Increment(ref _counter)}R{Random.Shared.Next():x8}";
        return string.Create(CultureInfo.InvariantCulture, $"{now.ToUnixTimeSeconds()}.{unique}.{host},S={size}");
    }

    private static long _counter;

    public static void CreateMailbox(string path)
    {
        foreach (var sub in Subdirectories)
        {
            Directory.CreateDirectory(Path.Combine(path, sub));
        }

        foreach (var folder in DefaultFolders)
        {
            foreach (var sub in Subdirectories)
            {
                Directory.CreateDirectory(Path.Combine(path, folder, sub));
            }
        }
    }

    /// <summary>Dovecot's Maildir++ quota file in a mailbox's root: the usage it counted, kept up to date by its own deliveries.</summary>
    public const string QuotaFile = "maildirsize";

    /// <summary>
    /// Says to Dovecot that messages were added or removed behind its back (a move's copy, an unpack): its Maildir++
    /// quota file is removed, and Dovecot counts the mailbox again at its next delivery or quota check. Dovecot counts
    /// incrementally from that file, which is what keeps a quota check cheap on a large mailbox; it never reads the
    /// Maildir itself while the file is there.
    /// </summary>
    public static void QuotaChanged(string mailbox)
    {
        if (Directory.Exists(mailbox))
        {
            File.Delete(Path.Combine(mailbox, QuotaFile));
        }
    }

    /// <summary>Delivers a message the Maildir way: written in tmp, then renamed into new.</summary>
    public static async Task<string> DeliverAsync(string mailbox, byte[] message, string host, CancellationToken ct)
    {
        CreateMailbox(mailbox);
        var name = NewFileName(message.Length, host);
        var tmp = Path.Combine(mailbox, "tmp", name);
        await File.WriteAllBytesAsync(tmp, message, ct);
        var target = Path.Combine(mailbox, "new", name);
        File.Move(tmp, target);
        QuotaChanged(mailbox);
        return "new/" + name;
    }

    /// <summary>Every message file of a mailbox, as paths relative to it (cur, new and the folders' cur and new).</summary>
    public static IEnumerable<MailFile> Enumerate(string mailbox) =>
        EnumerateMessages(mailbox, (string prefix, ref FileSystemEntry entry) => new MailFile($"{prefix}/{entry.FileName}", entry.Length));

    /// <summary>The same files as <see cref="Enumerate"/>, by path alone: directory reads only, no file is measured.</summary>
    public static IEnumerable<string> EnumeratePaths(string mailbox) =>
        EnumerateMessages(mailbox, (string prefix, ref FileSystemEntry entry) => $"{prefix}/{entry.FileName}");

    private delegate T MessageTransform<out T>(string prefix, ref FileSystemEntry entry);

    private static IEnumerable<T> EnumerateMessages<T>(string mailbox, MessageTransform<T> transform)
    {
        if (!Directory.Exists(mailbox))
        {
            yield break;
        }

        foreach (var folder in Folders(mailbox))
        {
            foreach (var sub in new[] { "cur", "new" })
            {
                var dir = Path.Combine(mailbox, folder, sub);
                if (!Directory.Exists(dir))
                {
                    continue;
                }

                var prefix = folder.Length == 0 ? sub : $"{folder}/{sub}";
                var files = new FileSystemEnumerable<T>(dir, (ref FileSystemEntry entry) => transform(prefix, ref entry))
                {
                    ShouldIncludePredicate = (ref FileSystemEntry entry) => !entry.IsDirectory,
                };
                foreach (var file in files)
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>"" for the inbox, then ".Folder" for each subfolder.</summary>
    public static IEnumerable<string> Folders(string mailbox)
    {
        yield return "";
        if (!Directory.Exists(mailbox))
        {
            yield break;
        }

        foreach (var dir in Directory.EnumerateDirectories(mailbox, ".*").Order(StringComparer.Ordinal))
        {
            yield return Path.GetFileName(dir);
        }
    }

    /// <summary>The mailbox's size and message count.</summary>
    public static (long Messages, long Bytes) Measure(string mailbox)
    {
        long messages = 0, bytes = 0;
        foreach (var file in Enumerate(mailbox))
        {
            messages++;
            bytes += file.Size;
        }

        return (messages, bytes);
    }

    /// <summary>The folder a relative message path is in, for per-folder summaries ("INBOX", "Sent"...).</summary>
    public static string FolderOf(string relativePath)
    {
        var first = relativePath.Split('/')[0];
        return first.StartsWith('.') ? first[1..] : "INBOX";
    }
}

/// <summary>What a domain's folder holds (<see cref="Maildir.Contents"/>).</summary>
public sealed record DomainContents(long Messages, IReadOnlyList<string> Examples, long OtherFiles);

/// <summary>A mailbox path that would leave its domain's folder (a bad name, from a user or another node).</summary>
public sealed class UnsafeMailPathException(string message) : InvalidOperationException(message);

/// <summary>A message file in a mailbox: its path relative to the mailbox and its size.</summary>
public readonly record struct MailFile(string Path, long Size);
