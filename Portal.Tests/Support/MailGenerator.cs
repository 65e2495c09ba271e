using System.Security.Cryptography;
using System.Text;

namespace Portal.Tests.Support;

/// <summary>
/// Mail as an MTA and a mail client leave it: messages of varied sizes delivered into Maildirs (new/ and, read and
/// flagged, cur/), in several folders. Also the changes a user makes while a move runs.
/// </summary>
public sealed class MailGenerator(int seed = 7)
{
    private readonly Random _random = new(seed);
    private long _counter;

    public static readonly string[] Folders = ["", ".Sent", ".Archive", ".Trash"];

    /// <summary>Writes <paramref name="count"/> messages of <paramref name="minKb"/>-<paramref name="maxKb"/> KiB into a mailbox.</summary>
    public void Fill(string mailbox, int count, int minKb = 1, int maxKb = 60)
    {
        foreach (var folder in Folders)
        {
            foreach (var sub in new[] { "cur", "new", "tmp" })
            {
                Directory.CreateDirectory(Path.Combine(mailbox, folder, sub));
            }
        }

        for (var i = 0; i < count; i++)
        {
            var folder = Folders[_random.Next(10) switch { < 6 => 0, < 8 => 1, 8 => 2, _ => 3 }];
            var read = folder.Length > 0 || _random.Next(3) > 0;
            var flags = read ? (_random.Next(4) == 0 ? ":2,FS" : ":2,S") : "";
            var body = Message(_random.Next(minKb * 1024, maxKb * 1024));
            var name = $"{1_700_000_000 + _counter}.M{_counter}P{seed}.generator,S={body.Length}";
            _counter++;
            File.WriteAllBytes(Path.Combine(mailbox, folder, read ? "cur" : "new", name + flags), body);
        }
    }

    /// <summary>Delivers new messages into new/, as the MTA does.</summary>
    public IReadOnlyList<string> Deliver(string mailbox, int count)
    {
        var paths = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var body = Message(_random.Next(2 * 1024, 30 * 1024));
            var name = $"{1_800_000_000 + _counter}.M{_counter}P{seed}.arrived,S={body.Length}";
            _counter++;
            var tmp = Path.Combine(mailbox, "tmp", name);
            File.WriteAllBytes(tmp, body);
            File.Move(tmp, Path.Combine(mailbox, "new", name));
            paths.Add("new/" + name);
        }

        return paths;
    }

    /// <summary>Marks messages read and flagged (a rename in cur/, or from new/ to cur/), as an IMAP client does.</summary>
    public int Flag(string mailbox, int count)
    {
        var done = 0;
        foreach (var file in Pick(mailbox, count))
        {
            var name = Path.GetFileName(file);
            var bare = name.Split(':')[0];
            var dir = Path.GetDirectoryName(Path.GetDirectoryName(file))!;
            var target = Path.Combine(dir, "cur", bare + ":2,FRS");
            if (target != file)
            {
                File.Move(file, target);
                done++;
            }
        }

        return done;
    }

    /// <summary>Moves messages to the Trash folder (a rename across folders).</summary>
    public int Trash(string mailbox, int count)
    {
        var done = 0;
        foreach (var file in Pick(mailbox, count).Where(f => !f.Contains("/.Trash/", StringComparison.Ordinal)))
        {
            File.Move(file, Path.Combine(mailbox, ".Trash", "cur", Path.GetFileName(file).Split(':')[0] + ":2,ST"));
            done++;
        }

        return done;
    }

    public int Delete(string mailbox, int count)
    {
        var files = Pick(mailbox, count).ToList();
        files.ForEach(File.Delete);
        return files.Count;
    }

    /// <summary>Every message of a mailbox: relative path, size and SHA-256. Two equal snapshots mean two equal mailboxes.</summary>
    public static SortedDictionary<string, (long Size, string Sha256)> Snapshot(string mailbox)
    {
        var result = new SortedDictionary<string, (long, string)>(StringComparer.Ordinal);
        if (!Directory.Exists(mailbox))
        {
            return result;
        }

        foreach (var file in Directory.EnumerateFiles(mailbox, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(mailbox, file).Replace('\\', '/');
            if (relative.Split('/') is [.., "tmp", _])
            {
                continue;
            }

            var bytes = File.ReadAllBytes(file);
            result[relative] = (bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }

        return result;
    }

    /// <summary>
    /// Writes the Dovecot state files a mail client's view rests on, as Dovecot would (a uidlist of the folder's messages
    /// by base name, keywords; at the root subscriptions and the UIDVALIDITY seed); <see cref="Snapshot"/> includes them.
    /// </summary>
    public static void WriteState(string mailbox, uint uidValidity)
    {
        foreach (var folder in Folders.Where(f => Directory.Exists(Path.Combine(mailbox, f))))
        {
            var dir = Path.Combine(mailbox, folder);
            var names = new[] { "cur", "new" }.Where(d => Directory.Exists(Path.Combine(dir, d)))
                .SelectMany(d => Directory.EnumerateFiles(Path.Combine(dir, d))).Select(f => Path.GetFileName(f).Split(':')[0]).Order(StringComparer.Ordinal).ToList();
            var uidlist = new System.Text.StringBuilder($"3 V{uidValidity} N{names.Count + 101} G{Guid.NewGuid():N}\n");
            for (var i = 0; i < names.Count; i++)
            {
                uidlist.Append(System.Globalization.CultureInfo.InvariantCulture, $"{i + 100} W{1000 + i} :{names[i]}\n");
            }

            File.WriteAllText(Path.Combine(dir, "dovecot-uidlist"), uidlist.ToString());
            File.WriteAllText(Path.Combine(dir, "dovecot-keywords"), "0 project-x\n1 $Label1\n");
        }

        File.WriteAllText(Path.Combine(mailbox, "subscriptions"), "V\t2\n\nSent\nArchive\n");
        File.WriteAllText(Path.Combine(mailbox, "dovecot-uidvalidity"), uidValidity.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "\n");
        File.WriteAllText(Path.Combine(mailbox, "dovecot-uidvalidity." + uidValidity.ToString("x", System.Globalization.CultureInfo.InvariantCulture)), "");
    }

    private IEnumerable<string> Pick(string mailbox, int count)
    {
        // Messages only (in cur and new), never a state file.
        var all = Directory.EnumerateFiles(mailbox, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(Path.GetDirectoryName(f)) is "cur" or "new").OrderBy(f => f, StringComparer.Ordinal).ToList();
        return all.OrderBy(_ => _random.Next()).Take(count).ToList();
    }

    private byte[] Message(int size)
    {
        var header = $"From: sender{_random.Next(1000)}@example.net\r\nTo: someone@example.test\r\nSubject: Message {_counter}\r\nMessage-ID: <{_counter}.{seed}@generator>\r\n\r\n";
        var body = new byte[Math.Max(size, header.Length + 10)];
        Encoding.ASCII.GetBytes(header).CopyTo(body, 0);
        for (var i = header.Length; i < body.Length; i++)
        {
            body[i] = (byte)(i % 76 == 75 ? '\n' : 'a' + _random.Next(26));
        }

        return body;
    }
}
