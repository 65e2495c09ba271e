using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Portal.Jobs.Mail;

/// <summary>
/// The receiving side of a mail copy (on the node that takes the mail over). Each file of a streamed batch lands in a
/// staging folder on the mail filesystem while its digest (<see cref="TransitHash"/>) is computed; a file whose digest
/// does not match the sender's is dropped and reported for resending. When the batch ends, all its files are made
/// durable with one filesystem sync, renamed into their mailboxes, and the renames made durable with another. Nothing
/// half-written ever appears in a mailbox.
/// </summary>
public sealed class MailReceiver(string mailRoot)
{
    /// <summary>Where files wait on the mail filesystem until they are complete and checked (never served).</summary>
    public const string StagingFolder = ".portal-staging";

    /// <summary>The largest message a batch may carry: the same bound as an archive entry.</summary>
    public static readonly long MaxMessageBytes = ArchiveLimits.Default.MaxEntryBytes;

    private int _corruptionsLeft;

    /// <summary>Development and tests: flip a byte of the next N files received, as a bad network link would.</summary>
    public void CorruptNextFiles(int count) => Interlocked.Exchange(ref _corruptionsLeft, count);

    /// <param name="state">
    /// A batch of Dovecot state files (<see cref="MaildirState"/>) rather than messages: only those paths are taken,
    /// each checked to look like what Dovecot writes, and the folder's index caches are dropped when one lands. A
    /// move sends state only before its switch, while this node does not serve the mailbox yet.
    /// </param>
    public async Task<BatchResult> ReceiveAsync(Stream source, string domain, ISet<string> localParts, CancellationToken ct, bool state = false)
    {
        // Many small reads (frame headers): served from a buffer instead of one call to the connection each. Not
        // disposed: the request body belongs to the server.
        var body = new BufferedStream(source, 512 * 1024);
        var staging = Path.Combine(mailRoot, StagingFolder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        var accepted = new List<(string Staged, string Target, long Size, string LocalPart)>();
        var placedState = new List<(string LocalPart, string Path)>();
        var rejected = new List<RejectedFile>();
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        TransitHash? sha256 = null, xxHash128 = null;
        try
        {
            var header = new byte[8];
            var sequence = 0;
            long batchBytes = 0;
            while (true)
            {
                await ReadExactlyAsync(body, header.AsMemory(0, 1), ct);
                if (header[0] == MailBatchFormat.EndFrame)
                {
                    break;
                }

                if (header[0] is not (MailBatchFormat.FileFrame or MailBatchFormat.FileFrameXxHash128))
                {
                    throw new InvalidDataException($"Unknown frame type {header[0]} in a mail batch.");
                }

                var digest = header[0] == MailBatchFormat.FileFrameXxHash128 ? TransitDigest.XxHash128 : TransitDigest.Sha256;

                var localPart = await ReadStringAsync(body, header, ct);
                var path = await ReadStringAsync(body, header, ct);
                await ReadExactlyAsync(body, header.AsMemory(0, 8), ct);
                var size = BinaryPrimitives.ReadInt64LittleEndian(header);
                // The sender is another node, untrusted: no message is larger than an archive entry may be, and a batch
                // holds no more files, nor bytes (beyond one large message), than a batch is made of.
                if (size < 0 || size > MaxMessageBytes || (state && size > MaildirState.MaxUidListBytes))
                {
                    throw new InvalidDataException($"A file of {size} bytes in a mail batch; at most {(state ? MaildirState.MaxUidListBytes : MaxMessageBytes)} are taken.");
                }

                if (sequence >= MailBatchFormat.ReceiverLimitFiles || (sequence > 0 && batchBytes + size > MailBatchFormat.ReceiverLimitBytes))
                {
                    throw new InvalidDataException($"A mail batch of more than {MailBatchFormat.ReceiverLimitFiles} files or {MailBatchFormat.ReceiverLimitBytes} bytes.");
                }

                batchBytes += size;

                var staged = Path.Combine(staging, (sequence++).ToString(CultureInfo.InvariantCulture));
                var corrupt = Interlocked.Decrement(ref _corruptionsLeft) >= 0;
                // One hash per digest kind serves the whole batch (a sender may mix the two kinds).
                var hash = digest == TransitDigest.XxHash128 ? xxHash128 ??= TransitHash.Create(digest) : sha256 ??= TransitHash.Create(digest);
                var actual = new byte[hash.Length];
                // Large files get (some of) their space reserved up front; for a message it would be one more system call.
                var reserve = size > 1024 * 1024 ? Math.Min(size, MailBatchFormat.MaxBatchBytes) : 0;
                using (var file = File.OpenHandle(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, reserve))
                {
                    if (size <= buffer.Length)
                    {
                        // Most messages: read whole, hash once, one write.
                        await body.ReadExactlyAsync(buffer.AsMemory(0, (int)size), ct);
                        if (corrupt && size > 0)
                        {
                            buffer[0] ^= 0xFF;
                        }

                        hash.Append(buffer.AsSpan(0, (int)size));
                        RandomAccess.Write(file, buffer.AsSpan(0, (int)size), 0);
                    }
                    else
                    {
                        long offset = 0;
                        while (offset < size)
                        {
                            var read = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - offset)), ct);
                            if (read == 0)
                            {
                                throw new EndOfStreamException("The mail batch ended inside a file.");
                            }

                            if (offset == 0 && corrupt)
                            {
                                buffer[0] ^= 0xFF;
                            }

                            hash.Append(buffer.AsSpan(0, read));
                            RandomAccess.Write(file, buffer.AsSpan(0, read), offset);
                            offset += read;
                        }
                    }

                    hash.Finish(actual);
                }

                var expected = new byte[actual.Length];
                await ReadExactlyAsync(body, expected, ct);
                string? problem = null;
                if (!localParts.Contains(localPart))
                {
                    problem = $"{localPart}@{domain} is not a mailbox of this account here.";
                }
                else if (state ? !MaildirState.IsStatePath(path) : !Maildir.IsSafeRelativePath(path))
                {
                    problem = state ? "The path is not a Dovecot state file of a mailbox." : "The path is not a message path inside a mailbox.";
                }
                else if (!CryptographicOperations.FixedTimeEquals(expected, actual))
                {
                    problem = $"The content did not match its {MailBatchFormat.NameOf(digest)} digest (damaged in transit).";
                }
                else if (state && MaildirState.ContentProblem(path, await File.ReadAllBytesAsync(staged, ct)) is { } bad)
                {
                    problem = bad;
                }

                if (problem is null)
                {
                    accepted.Add((staged, Path.Combine(Maildir.MailboxPath(mailRoot, domain, localPart), path), size, localPart));
                    if (state)
                    {
                        placedState.Add((localPart, path));
                    }
                }
                else
                {
                    File.Delete(staged);
                    rejected.Add(new RejectedFile(localPart, path, problem));
                }
            }

            // Durable in one go, then visible in one go.
            if (accepted.Count > 0 && !FileSync.SyncFileSystem(staging))
            {
                FileSync.FlushFiles(accepted.Select(a => a.Staged));
            }

            foreach (var (staged, target, _, _) in accepted)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Move(staged, target, overwrite: true);
            }

            foreach (var mailbox in accepted.Select(a => a.LocalPart).Distinct(StringComparer.Ordinal))
            {
                Maildir.QuotaChanged(Maildir.MailboxPath(mailRoot, domain, mailbox));
            }

            if (state)
            {
                foreach (var (localPart, path) in placedState)
                {
                    MaildirState.ForgetIndexes(Maildir.MailboxPath(mailRoot, domain, localPart), path);
                }
            }

            if (accepted.Count > 0)
            {
                FileSync.SyncFileSystem(mailRoot);
            }

            return new BatchResult(accepted.Count, accepted.Sum(a => a.Size), rejected);
        }
        finally
        {
            sha256?.Dispose();
            xxHash128?.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
            Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Applies renames and deletions; ones whose file is already gone (a repeated request) are skipped.</summary>
    public ChangesResult Apply(MailChanges changes, string domain, ISet<string> localParts)
    {
        var renamed = 0;
        var deleted = 0;
        foreach (var rename in changes.Renames)
        {
            Check(rename.LocalPart, rename.From, domain, localParts);
            Check(rename.LocalPart, rename.To, domain, localParts);
            var mailbox = Maildir.MailboxPath(mailRoot, domain, rename.LocalPart);
            var from = Path.Combine(mailbox, rename.From);
            if (File.Exists(from))
            {
                var to = Path.Combine(mailbox, rename.To);
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Move(from, to, overwrite: true);
                renamed++;
            }
        }

        foreach (var deletion in changes.Deletions)
        {
            Check(deletion.LocalPart, deletion.Path, domain, localParts);
            var path = Path.Combine(Maildir.MailboxPath(mailRoot, domain, deletion.LocalPart), deletion.Path);
            if (File.Exists(path))
            {
                File.Delete(path);
                Maildir.QuotaChanged(Maildir.MailboxPath(mailRoot, domain, deletion.LocalPart));
                deleted++;
            }
        }

        FileSync.SyncFileSystem(mailRoot);
        return new ChangesResult(renamed, deleted);
    }

    /// <summary>What this node holds of the account's mailboxes: paths (to plan a pass), sizes, or hashes (to verify).</summary>
    public static MailManifest Manifest(string mailRoot, string domain, IEnumerable<string> localParts, ManifestDetail detail) =>
        new(localParts.Order(StringComparer.Ordinal).Select(local =>
        {
            var mailbox = Maildir.MailboxPath(mailRoot, domain, local);
            if (detail == ManifestDetail.Paths)
            {
                return new MailboxManifest(local, Maildir.EnumeratePaths(mailbox).Order(StringComparer.Ordinal).Select(p => new ManifestFile(p, ManifestFile.UnknownSize)).ToArray());
            }

            var listed = Maildir.Enumerate(mailbox).ToArray();
            var files = new ManifestFile?[listed.Length];
            if (detail == ManifestDetail.Hashes)
            {
                // Hashing is most of the work: spread it over the cores.
                Parallel.For(0, listed.Length, () => new byte[1024 * 1024], (i, _, buffer) =>
                {
                    var sha = HashFile(Path.Combine(mailbox, listed[i].Path), buffer);
                    files[i] = sha is null ? null : new ManifestFile(listed[i].Path, listed[i].Size, sha);
                    return buffer;
                }, _ => { });
            }
            else
            {
                for (var i = 0; i < listed.Length; i++)
                {
                    files[i] = new ManifestFile(listed[i].Path, listed[i].Size);
                }
            }

            return new MailboxManifest(local, files.OfType<ManifestFile>().OrderBy(f => f.Path, StringComparer.Ordinal).ToArray());
        }).ToArray(), MailBatchFormat.ReceivedDigests);

    /// <summary>The Dovecot state files of the account's mailboxes here (<see cref="MaildirState"/>), with their sizes.</summary>
    public static MailManifest StateManifest(string mailRoot, string domain, IEnumerable<string> localParts) =>
        new(localParts.Order(StringComparer.Ordinal).Select(local => new MailboxManifest(local,
            MaildirState.Enumerate(Maildir.MailboxPath(mailRoot, domain, local)).OrderBy(f => f.Path, StringComparer.Ordinal)
                .Select(f => new ManifestFile(f.Path, f.Size)).ToArray())).ToArray());

    /// <summary>A file's SHA-256 (hex), or null if it vanished meanwhile (a message deleted by its reader).</summary>
    public static string? HashFile(string path, byte[]? buffer = null)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var size = RandomAccess.GetLength(handle);
            buffer ??= new byte[64 * 1024];
            if (size <= buffer.Length)
            {
                var read = RandomAccess.Read(handle, buffer.AsSpan(0, (int)size), 0);
                return Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, read)));
            }

            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long offset = 0;
            int chunk;
            while ((chunk = RandomAccess.Read(handle, buffer, offset)) > 0)
            {
                hash.AppendData(buffer, 0, chunk);
                offset += chunk;
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private static void Check(string localPart, string path, string domain, ISet<string> localParts)
    {
        if (!localParts.Contains(localPart) || !Maildir.IsSafeRelativePath(path))
        {
            throw new InvalidDataException($"{path} of {localPart}@{domain} is not a message path of this account's mailboxes.");
        }
    }

    private static async Task<string> ReadStringAsync(Stream body, byte[] header, CancellationToken ct)
    {
        await ReadExactlyAsync(body, header.AsMemory(0, 2), ct);
        var length = BinaryPrimitives.ReadUInt16LittleEndian(header);
        if (length is 0 or > 1024)
        {
            throw new InvalidDataException("A name in a mail batch is empty or too long.");
        }

        var bytes = new byte[length];
        await ReadExactlyAsync(body, bytes, ct);
        return Encoding.UTF8.GetString(bytes);
    }

    private static async Task ReadExactlyAsync(Stream body, Memory<byte> target, CancellationToken ct)
    {
        await body.ReadExactlyAsync(target, ct);
    }
}
