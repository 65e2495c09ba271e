using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace Portal.Jobs.Mail;

/// <summary>What a pass of a mail copy does: files to send, and renames and deletions to make on the receiver.</summary>
public sealed record SyncPlan(IReadOnlyList<PlannedCopy> Copies, MailChanges Changes)
{
    public long CopyBytes => Copies.Sum(c => c.File.Size);

    public bool IsEmpty => Copies.Count == 0 && Changes.Renames.Count == 0 && Changes.Deletions.Count == 0;
}

public readonly record struct PlannedCopy(string LocalPart, MailFile File);

/// <summary>
/// Compares what the sender has with what the receiver has and plans the difference. A Maildir message never changes
/// after it is written, so a message is known by its base name (the file name without flags): the same base name at
/// another path is a flag change or a move between folders (a rename on the receiver), a base name the sender no
/// longer has was deleted, and a new base name is new mail. The bulk copy and the final pass are the same plan.
/// Sizes are compared only where both sides measured them: a pass lists paths alone (a directory read, no stat per
/// file), since a file appears on a receiver only whole and checked, and the verification hashes every byte.
/// </summary>
public static class MailSyncPlanner
{
    /// <param name="baseline">
    /// For a pass after a move's switch: what the receiver had just before it (<see cref="SwitchBaseline"/>). From the
    /// switch on, mail is delivered and read on the receiver too, so only a file still where the baseline saw it may be
    /// renamed or deleted there; new mail and the owner's own changes on the receiver stay. Null: mirror the sender.
    /// </param>
    public static SyncPlan Plan(IReadOnlyDictionary<string, IReadOnlyList<MailFile>> local, MailManifest remote, MailManifest? baseline = null)
    {
        var copies = new List<PlannedCopy>();
        var renames = new List<MailRename>();
        var deletions = new List<MailDeletion>();
        var remoteByMailbox = remote.Mailboxes.ToDictionary(m => m.LocalPart, m => m.Files);
        foreach (var (localPart, files) in local.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            var theirs = remoteByMailbox.GetValueOrDefault(localPart) ?? [];
            var before = baseline?.Mailboxes.FirstOrDefault(m => m.LocalPart == localPart)?.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
            bool Untouched(string path) => baseline is null || (before?.Contains(path) ?? false);
            // The receiver may hold one message more than once: an archive made while its mailbox changed can see a
            // message in two folders (moved to Trash while it was written). Each copy of it is matched or removed.
            var theirsByKey = theirs.GroupBy(t => Maildir.MessageKey(t.Path), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var ours = new HashSet<string>(StringComparer.Ordinal);
            foreach (var message in files.GroupBy(f => Maildir.MessageKey(f.Path), StringComparer.Ordinal))
            {
                ours.Add(message.Key);
                var held = theirsByKey.GetValueOrDefault(message.Key) ?? [];
                var unmatched = new List<MailFile>();
                foreach (var file in message)
                {
                    if (held.FirstOrDefault(t => t.Path == file.Path && SameSize(t, file)) is { } same)
                    {
                        held.Remove(same);
                    }
                    else
                    {
                        unmatched.Add(file);
                    }
                }

                foreach (var file in unmatched)
                {
                    if (held.FirstOrDefault(t => SameSize(t, file)) is { } their)
                    {
                        held.Remove(their);
                        if (Untouched(their.Path))
                        {
                            renames.Add(new MailRename(localPart, their.Path, file.Path));
                        }
                    }
                    else
                    {
                        copies.Add(new PlannedCopy(localPart, file));
                    }
                }

                // What is left of it on the receiver is a second copy the sender does not have (a copy overwrites its own path).
                deletions.AddRange(held.Where(t => Untouched(t.Path) && !message.Any(f => f.Path == t.Path)).Select(t => new MailDeletion(localPart, t.Path)));
            }

            deletions.AddRange(theirs.Where(t => !ours.Contains(Maildir.MessageKey(t.Path)) && Untouched(t.Path)).Select(t => new MailDeletion(localPart, t.Path)));
        }

        return new SyncPlan(copies, new MailChanges(renames, deletions));
    }

    private static bool SameSize(ManifestFile their, MailFile ours) =>
        their.Size == ManifestFile.UnknownSize || ours.Size == ManifestFile.UnknownSize || their.Size == ours.Size;

    /// <summary>The sender's mailboxes as they are now, by path (sizes unknown: <see cref="Measure"/> the copies a plan keeps).</summary>
    public static Dictionary<string, IReadOnlyList<MailFile>> Scan(string mailRoot, string domain, IEnumerable<string> localParts) =>
        localParts.ToDictionary(
            l => l,
            l => (IReadOnlyList<MailFile>)Maildir.EnumeratePaths(Maildir.MailboxPath(mailRoot, domain, l)).Select(p => new MailFile(p, ManifestFile.UnknownSize)).ToList(),
            StringComparer.Ordinal);

    /// <summary>The plan's copies with their sizes; a file gone since the scan (read and deleted, or renamed) is left to the next pass.</summary>
    public static SyncPlan Measure(SyncPlan plan, string mailRoot, string domain)
    {
        var copies = new List<PlannedCopy>(plan.Copies.Count);
        foreach (var copy in plan.Copies)
        {
            var file = new FileInfo(Path.Combine(Maildir.MailboxPath(mailRoot, domain, copy.LocalPart), copy.File.Path));
            if (file.Exists)
            {
                copies.Add(copy with { File = copy.File with { Size = file.Length } });
            }
        }

        return plan with { Copies = copies };
    }
}

/// <summary>
/// Streams planned copies as one HTTP request body per batch (see <see cref="MailBatchFormat"/>): each file is read
/// once, hashed as it is sent, and its digest (<see cref="TransitDigest"/>, what the receiver offers) sent after it. A file that vanished since the scan (deleted or renamed
/// by its reader) is skipped; the next pass sees what became of it.
/// </summary>
public sealed class MailBatchContent(
    string mailRoot, string domain, IReadOnlyList<PlannedCopy> files, Func<PlannedCopy, long, ValueTask>? onSent = null, TransitDigest digestKind = TransitDigest.Sha256)
    : HttpContent
{
    public int Vanished { get; private set; }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        await SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream target, TransportContext? context, CancellationToken cancellationToken)
    {
        // Frames are small writes (a header, the content, a hash); gathered here, they leave as large chunks. Not
        // disposed: the request stream belongs to HttpClient, which ends the body itself.
        var stream = new BufferedStream(target, 512 * 1024);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        using var hash = TransitHash.Create(digestKind);
        var digest = new byte[hash.Length];
        try
        {
            foreach (var copy in files)
            {
                var path = Path.Combine(Maildir.MailboxPath(mailRoot, domain, copy.LocalPart), copy.File.Path);
                Microsoft.Win32.SafeHandles.SafeFileHandle handle;
                try
                {
                    handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                }
                catch (FileNotFoundException)
                {
                    Vanished++;
                    continue;
                }

                using (handle)
                {
                    var size = RandomAccess.GetLength(handle);
                    await WriteHeaderAsync(stream, digestKind, copy.LocalPart, copy.File.Path, size, cancellationToken);
                    if (size <= buffer.Length)
                    {
                        // Most messages: one read, one hash, one write.
                        var read = RandomAccess.Read(handle, buffer.AsSpan(0, (int)size), 0);
                        if (read != size)
                        {
                            throw new IOException($"{path} got shorter while it was being sent.");
                        }

                        hash.Append(buffer.AsSpan(0, read));
                        await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    }
                    else
                    {
                        long offset = 0;
                        while (offset < size)
                        {
                            var read = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - offset)), offset);
                            if (read == 0)
                            {
                                throw new IOException($"{path} got shorter while it was being sent.");
                            }

                            hash.Append(buffer.AsSpan(0, read));
                            await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                            offset += read;
                        }
                    }

                    hash.Finish(digest);
                    await stream.WriteAsync(digest, cancellationToken);
                    if (onSent is not null)
                    {
                        await onSent(copy, size);
                    }
                }
            }

            stream.WriteByte(MailBatchFormat.EndFrame);
            await stream.FlushAsync(cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private const int BufferSize = 1024 * 1024;

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    private static async Task WriteHeaderAsync(Stream stream, TransitDigest digest, string localPart, string path, long size, CancellationToken ct)
    {
        var local = Encoding.UTF8.GetBytes(localPart);
        var name = Encoding.UTF8.GetBytes(path);
        var header = new byte[1 + 2 + local.Length + 2 + name.Length + 8];
        var at = 0;
        header[at++] = digest == TransitDigest.XxHash128 ? MailBatchFormat.FileFrameXxHash128 : MailBatchFormat.FileFrame;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(at), (ushort)local.Length);
        at += 2;
        local.CopyTo(header, at);
        at += local.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(at), (ushort)name.Length);
        at += 2;
        name.CopyTo(header, at);
        at += name.Length;
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(at), size);
        await stream.WriteAsync(header, ct);
    }
}

/// <summary>
/// What the receiver of a move had just before the switch, kept as the final pass's checkpoint: after the switch the
/// receiver serves the account (mail arrives there, the owner reads and deletes there), and the final pass must not
/// take any of that for something the sender deleted (see <see cref="MailSyncPlanner.Plan"/>).
/// </summary>
public static class SwitchBaseline
{
    public const string FinalPassStep = "delta";

    /// <summary>Takes the receiver's manifest, once: a switch step run again after a failure keeps the first (still before the switch).</summary>
    public static async Task CaptureAsync(IOperationRun run, Func<CancellationToken, Task<MailManifest>> receiver, CancellationToken ct)
    {
        if (run.GetCheckpoint(FinalPassStep) is not null)
        {
            return;
        }

        var manifest = await receiver(ct);
        var paths = manifest.Mailboxes.ToDictionary(m => m.LocalPart, m => m.Files.Select(f => f.Path).ToArray(), StringComparer.Ordinal);
        await run.SaveCheckpointAsync(FinalPassStep, JsonSerializer.Serialize(paths), ct);
    }

    /// <summary>The baseline; without one (a move begun before baselines were kept), nothing on the receiver may be renamed or deleted.</summary>
    public static MailManifest Load(IOperationRun run)
    {
        var json = run.GetCheckpoint(FinalPassStep);
        var paths = json is null ? [] : JsonSerializer.Deserialize<Dictionary<string, string[]>>(json) ?? [];
        return new MailManifest(paths.Select(p => new MailboxManifest(p.Key, p.Value.Select(path => new ManifestFile(path, ManifestFile.UnknownSize)).ToArray())).ToArray());
    }
}

/// <summary>
/// The digest of one file of a mail batch as it streams (<see cref="MailBatchFormat"/>): appended in pieces, finished
/// into a buffer of <see cref="Length"/> bytes, then ready for the next file. One serves a whole batch.
/// </summary>
public sealed class TransitHash : IDisposable
{
    private readonly IncrementalHash? _sha256;
    private readonly System.IO.Hashing.XxHash128? _xxHash128;

    private TransitHash(TransitDigest kind)
    {
        if (kind == TransitDigest.XxHash128)
        {
            _xxHash128 = new System.IO.Hashing.XxHash128();
        }
        else
        {
            _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }
    }

    public static TransitHash Create(TransitDigest kind) => new(kind);

    public int Length => _xxHash128 is null ? 32 : 16;

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_xxHash128 is not null)
        {
            _xxHash128.Append(data);
        }
        else
        {
            _sha256!.AppendData(data);
        }
    }

    public void Dispose() => _sha256?.Dispose();

    /// <summary>Writes the digest of everything appended since the last call and starts over.</summary>
    public void Finish(Span<byte> digest)
    {
        if (_xxHash128 is not null)
        {
            _xxHash128.GetHashAndReset(digest);
        }
        else
        {
            _sha256!.GetHashAndReset(digest);
        }
    }
}
