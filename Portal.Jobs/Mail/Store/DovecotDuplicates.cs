using System.Buffers.Binary;

namespace Portal.Jobs.Mail;

/// <summary>
/// A mailbox's record of the Message-IDs Sieve's <c>duplicate</c> test saw (<c>.dovecot.lda-dupes</c> in its home,
/// an entry per id: md5("sieve duplicate+default" + the Message-ID header), the user, and when it expires). It keeps
/// once a message delivered again within a day, say by a sender that lost the connection after sending it, and it
/// belongs with the mailbox: a move carries the old node's record to the new one before its switch, right after it
/// and after its final pass. It cannot help with a delivery Dovecot saved but could not confirm because Dovecot was
/// stopped in the middle of it: Dovecot writes the entry after the answer it never gave (seen in the chaos soak).
/// Dovecot's format (lib-storage's mail-duplicate.c, version 2, in the machine's byte order, which is little-endian on
/// every platform Portal runs on): a 32-bit version, then entries of a 32-bit expiry time, the sizes of the id and of
/// the user name (each 1 to 4096 bytes, as Dovecot reads them), the id and the user name.
/// </summary>
public static class DovecotDuplicates
{
    public const string FileName = ".dovecot.lda-dupes";

    /// <summary>
    /// About 60 bytes a Message-ID kept for a day: 17,000 deliveries a day to one mailbox. A larger record stays
    /// behind (the move goes on without it).
    /// </summary>
    public const int MaxBytes = 1024 * 1024;

    private const uint Version = 2;
    private const int MaxPartBytes = 4096;

    public sealed record Entry(uint Expires, byte[] Id, byte[] User)
    {
        /// <summary>Dovecot matches the id byte for byte and the user name without regard to case.</summary>
        public string Key => Convert.ToHexString(Id) + "/" + Encoding.UTF8.GetString(User).ToLowerInvariant();
    }

    /// <summary>The entries of a record, or what is wrong with it (another node sent it: it is checked like all else).</summary>
    public static (IReadOnlyList<Entry> Entries, string? Problem) Parse(ReadOnlySpan<byte> content)
    {
        var entries = new List<Entry>();
        if (content.Length == 0)
        {
            return (entries, null);
        }

        if (content.Length > MaxBytes)
        {
            return (entries, $"The duplicate record is {content.Length} bytes; at most {MaxBytes} are taken.");
        }

        if (content.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(content) != Version)
        {
            return (entries, "This is not a version 2 Dovecot duplicate record.");
        }

        var rest = content[4..];
        while (rest.Length > 0)
        {
            if (rest.Length < 12)
            {
                return (entries, "The duplicate record ends inside an entry.");
            }

            var expires = BinaryPrimitives.ReadUInt32LittleEndian(rest);
            var idSize = BinaryPrimitives.ReadUInt32LittleEndian(rest[4..]);
            var userSize = BinaryPrimitives.ReadUInt32LittleEndian(rest[8..]);
            if (idSize is 0 or > MaxPartBytes || userSize is 0 or > MaxPartBytes)
            {
                return (entries, $"The duplicate record has an entry whose id or user name is empty or over {MaxPartBytes} bytes.");
            }

            var size = 12 + (int)idSize + (int)userSize;
            if (rest.Length < size)
            {
                return (entries, "The duplicate record ends inside an entry.");
            }

            entries.Add(new Entry(expires, rest.Slice(12, (int)idSize).ToArray(), rest.Slice(12 + (int)idSize, (int)userSize).ToArray()));
            rest = rest[size..];
        }

        return (entries, null);
    }

    /// <summary>Both records in one: each id once, with the later expiry; expired ones go, as Dovecot drops them.</summary>
    public static IReadOnlyList<Entry> Merge(IEnumerable<Entry> mine, IEnumerable<Entry> theirs, DateTimeOffset now)
    {
        var cutoff = now.ToUnixTimeSeconds();
        var merged = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var entry in mine.Concat(theirs).Where(e => e.Expires >= cutoff))
        {
            if (!merged.TryGetValue(entry.Key, out var known) || known.Expires < entry.Expires)
            {
                merged[entry.Key] = entry;
            }
        }

        return merged.Values.ToList();
    }

    public static byte[] Serialize(IReadOnlyCollection<Entry> entries)
    {
        var buffer = new byte[4 + entries.Sum(e => 12 + e.Id.Length + e.User.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, Version);
        var at = 4;
        foreach (var entry in entries)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), entry.Expires);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at + 4), (uint)entry.Id.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at + 8), (uint)entry.User.Length);
            entry.Id.CopyTo(buffer, at + 12);
            entry.User.CopyTo(buffer, at + 12 + entry.Id.Length);
            at += 12 + entry.Id.Length + entry.User.Length;
        }

        return buffer;
    }

    /// <summary>
    /// Carries the records of the node the mail leaves to the node that serves it next. It never fails the move (it
    /// only spares a second copy of a message sent twice): what could not be carried is said in the operation's log.
    /// </summary>
    public static Task CarryAsync(IOperationRun run, string from, string to,
        Func<CancellationToken, Task<MailDuplicates>> read, Func<MailDuplicates, CancellationToken, Task<DuplicatesMerged>> merge, CancellationToken ct) =>
        WithoutFailingTheMoveAsync(run, async () =>
            {
                var records = await read(ct);
                if (records.Mailboxes.Count == 0)
                {
                    return null;
                }

                var merged = await merge(records, ct);
                return $"The Message-IDs {from} delivered lately ({merged.Mailboxes} mailbox(es)) are known on {to} too: a message sent again is kept once there.";
            },
            $"{from} or {to} does not carry duplicate records yet (an older Portal); a message sent again after the switch may show twice.",
            ex => $"The record of Message-IDs delivered on {from} did not reach {to} ({ex.Message}); a message sent again after the switch may show twice.",
            ct);

    /// <summary>
    /// Runs what carries or records Message-IDs and logs what it says it did. It only spares a second copy of a message
    /// sent twice, so nothing it meets fails the move: a node too old for it (404) and one that failed are warnings.
    /// </summary>
    private static async Task WithoutFailingTheMoveAsync(IOperationRun run, Func<Task<string?>> work, string tooOld, Func<Exception, string> failed, CancellationToken ct)
    {
        string? done;
        try
        {
            done = await work();
        }
        catch (NodeRequestException ex) when (ex.Status == 404)
        {
            await run.LogAsync(OperationLogLevel.Warning, tooOld, ct);
            return;
        }
        catch (Exception ex) when (ex is NodeApiException or IOException or UnauthorizedAccessException or UntrustedDataException)
        {
            await run.LogAsync(OperationLogLevel.Warning, failed(ex), ct);
            return;
        }

        if (done is not null)
        {
            await run.LogAsync(OperationLogLevel.Info, done, ct);
        }
    }

    /// <summary>How long Sieve keeps an id (<c>sieve_duplicate_default_period</c> in scripts/mail-servers).</summary>
    public static readonly TimeSpan Period = TimeSpan.FromDays(1);

    /// <summary>The headers read for a Message-ID: a message whose header block is longer is left unmarked.</summary>
    private const int MaxHeaderBytes = 64 * 1024;

    /// <summary>
    /// The entry Sieve's <c>duplicate</c> test (no <c>:handle</c>, no <c>:last</c>) makes for a message: its id is
    /// md5("sieve duplicate" "+" "default" Message-ID), as Pigeonhole's ext-duplicate-common.c computes it (checked
    /// against Dovecot's own records in the chaos soak).
    /// </summary>
    public static Entry Delivered(string messageId, string address, DateTimeOffset deliveredAt) =>
        new((uint)(deliveredAt + Period).ToUnixTimeSeconds(),
            System.Security.Cryptography.MD5.HashData([.. "sieve duplicate+default"u8, .. Encoding.Latin1.GetBytes(messageId)]),
            Encoding.UTF8.GetBytes(address));

    /// <summary>
    /// When a message was delivered, by its Maildir name (<c>seconds.M...</c>, as Dovecot and every Maildir writer
    /// names a new message; flags and folder moves keep it). The name came from another node: a time to come counts as
    /// now, and a name without a time (or one before 2000, no delivery of today's mail) counts as delivered now too,
    /// which errs towards keeping a message out once more than needed, never towards a second copy.
    /// </summary>
    public static DateTimeOffset DeliveredAt(string path, DateTimeOffset now)
    {
        var name = path[(path.LastIndexOf('/') + 1)..];
        var digits = name.IndexOf('.') is var dot and > 0 ? name[..dot] : "";
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            && seconds >= Earliest && seconds < now.ToUnixTimeSeconds()
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : now;
    }

    private const long Earliest = 946_684_800; // 2000-01-01

    /// <summary>Whether a sender may still send this message again and Sieve would keep the second copy out.</summary>
    public static bool MaySendAgain(string path, DateTimeOffset now) => DeliveredAt(path, now) + Period > now;

    /// <summary>
    /// The value of a message file's first Message-ID header (unfolded and trimmed, as Dovecot hands it to Sieve), or
    /// null when it has none, cannot be read, or its headers run past 64 KiB.
    /// </summary>
    public static string? MessageIdOf(string file)
    {
        byte[] head;
        try
        {
            using var stream = File.OpenRead(file);
            head = new byte[(int)Math.Min(stream.Length, MaxHeaderBytes)];
            stream.ReadExactly(head);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or EndOfStreamException)
        {
            return null;
        }

        var text = Encoding.Latin1.GetString(head);
        var end = text.IndexOf("\n\n", StringComparison.Ordinal) is var lf and >= 0 ? lf : int.MaxValue;
        end = Math.Min(end, text.IndexOf("\r\n\r\n", StringComparison.Ordinal) is var crlf and >= 0 ? crlf : int.MaxValue);
        if (end == int.MaxValue)
        {
            return null;
        }

        string? value = null;
        foreach (var line in text[..end].Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (value is not null)
            {
                if (line.Length > 0 && line[0] is ' ' or '\t')
                {
                    value += line;
                    continue;
                }

                break;
            }

            if (line.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase))
            {
                value = line["Message-ID:".Length..];
            }
        }

        value = value?.Trim(' ', '\t');
        return string.IsNullOrEmpty(value) ? null : value;
    }

    /// <summary>
    /// Has the node that serves the mail next record the Message-IDs of messages the move brought it that were
    /// delivered within the last day (see <see cref="MailServerAdapter.MarkDeliveredAsync"/>), whichever pass or archive
    /// brought them: the old node may have saved one without confirming it. Like the carry it never fails the move.
    /// </summary>
    public static Task MarkAsync(IOperationRun run, string to, RecentlyBrought brought,
        Func<MailDelivered, CancellationToken, Task<DuplicatesMerged>> mark, CancellationToken ct)
    {
        var files = brought.Files;
        return files.Count == 0 ? Task.CompletedTask : WithoutFailingTheMoveAsync(run, async () =>
            {
                foreach (var chunk in files.Chunk(MailServerAdapter.MaxDeliveredFiles))
                {
                    await mark(new MailDelivered(chunk), ct);
                }

                return $"{to} knows the Message-IDs of the {files.Count} message(s) delivered within the last day that the move brought: if a sender tries one of them again there, it is kept once.";
            },
            $"{to} does not record delivered Message-IDs yet (an older Portal); a message delivered again after the move may show twice.",
            ex => $"The Message-IDs of what the move brought were not recorded on {to} ({ex.Message}); a message delivered again after the move may show twice.",
            ct);
    }

    /// <summary>The record in <paramref name="home"/>, or null when there is none (or it is too large to carry).</summary>
    public static byte[]? Read(string home)
    {
        var path = Path.Combine(home, FileName);
        try
        {
            var file = new FileInfo(path);
            return file.Exists && file.Length <= MaxBytes ? File.ReadAllBytes(path) : null;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Adds <paramref name="incoming"/> to the record in <paramref name="home"/> so that it stays there. Dovecot writes
    /// the record at the end of each delivery from what it read at the delivery's duplicate check, without reading it
    /// again: a delivery in flight when the merge is written puts back the record without it (seen in the chaos soak,
    /// with 35 messages a second to one mailbox). So the merge is written, given time for deliveries in flight to end
    /// (a delivery takes tens of milliseconds from its check to its write), read back, and written again while any
    /// entry is missing (at most five times). Returns how many entries the record holds.
    /// </summary>
    public static async Task<int> MergeIntoAsync(string home, IReadOnlyList<Entry> incoming, DateTimeOffset now, CancellationToken ct, TimeSpan? settle = null)
    {
        var wanted = incoming.Where(e => e.Expires >= now.ToUnixTimeSeconds()).Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        var count = 0;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            count = await MergeOnceAsync(home, incoming, now, ct);
            await Task.Delay(settle ?? Settle, ct);
            var kept = Read(home) is { } content ? Parse(content).Entries.Select(e => e.Key).ToHashSet(StringComparer.Ordinal) : [];
            if (wanted.IsSubsetOf(kept))
            {
                return kept.Count;
            }
        }

        return count;
    }

    /// <summary>How long a merge waits before it reads the record back (1 s made the chaos test's moves 4-10 s longer).</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Adds <paramref name="incoming"/> to the record in <paramref name="home"/> while Dovecot may be delivering there:
    /// under Dovecot's own dot-lock (<c>.dovecot.lda-dupes.lock</c>, taken with an exclusive create, and renamed over the
    /// record when written, as Dovecot does). A lock older than Dovecot's 10 s stale time is taken over, as Dovecot would.
    /// Returns how many entries the record holds now.
    /// </summary>
    private static async Task<int> MergeOnceAsync(string home, IReadOnlyList<Entry> incoming, DateTimeOffset now, CancellationToken ct)
    {
        Directory.CreateDirectory(home);
        var path = Path.Combine(home, FileName);
        var lockPath = path + ".lock";
        var deadline = DateTime.UtcNow.AddSeconds(20);
        FileStream? held = null;
        while (held is null)
        {
            try
            {
                held = new FileStream(lockPath, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                // Held (or just let go: then the next round takes it). Dovecot's lock times are whole seconds.
                var written = File.GetLastWriteTimeUtc(lockPath);
                if (written.Year > 1601 && DateTime.UtcNow - written > TimeSpan.FromSeconds(10))
                {
                    File.Delete(lockPath);
                    continue;
                }

                await Task.Delay(50, ct);
            }
        }

        try
        {
            // A record Dovecot cannot read either counts as none, as Dovecot counts it.
            var mine = File.Exists(path) ? Parse(await File.ReadAllBytesAsync(path, ct)) : ([], null);
            var merged = Merge(mine.Problem is null ? mine.Entries : [], incoming, now);
            await using (held)
            {
                await held.WriteAsync(Serialize(merged), ct);
                held.Flush(flushToDisk: true);
            }

            File.Move(lockPath, path, overwrite: true);
            return merged.Count;
        }
        catch
        {
            await held.DisposeAsync();
            File.Delete(lockPath);
            throw;
        }
    }
}

/// <summary>
/// The messages a move brought that a sender may still send again (delivered within the last day, by their names):
/// the others are not kept, so a bulk copy of a million messages holds only its last day of mail here.
/// </summary>
public sealed class RecentlyBrought(TimeProvider clock)
{
    private readonly HashSet<MailFileRef> files = [];

    /// <summary>What an archive brought at once.</summary>
    public RecentlyBrought(TimeProvider clock, IEnumerable<MailFileRef> brought)
        : this(clock) => Add(brought);

    public IReadOnlyCollection<MailFileRef> Files => files;

    public void Add(IEnumerable<MailFileRef> brought)
    {
        var now = clock.GetUtcNow();
        files.UnionWith(brought.Where(f => DovecotDuplicates.MaySendAgain(f.Path, now)));
    }
}
