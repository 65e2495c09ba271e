using System.Formats.Tar;
using System.Security.Cryptography;
using ZstdSharp;

namespace Portal.Jobs.Mail;

/// <summary>One message file in a mail archive: mailbox, path inside it, size and SHA-256 (hex).</summary>
public sealed record ArchiveEntry(string LocalPart, string Path, long Size, string Sha256)
{
    /// <summary>The entry's name in the tar: <c>localpart/cur/...</c>.</summary>
    public string Name => $"{LocalPart}/{Path}";
}

/// <summary>What an archive holds, written next to it: every file, the archive's own SHA-256 and the expanded size.</summary>
public sealed record MailArchiveManifest(string Domain, string Sha256, long ArchiveBytes, long ExpandedBytes, IReadOnlyList<ArchiveEntry> Files);

/// <summary>How much an archive may unpack to; anything beyond is refused before a byte of it is written.</summary>
public sealed record ArchiveLimits(long MaxFiles, long MaxEntryBytes, long MaxExpandedBytes)
{
    public static readonly ArchiveLimits Default = new(MaxFiles: 5_000_000, MaxEntryBytes: 2L * 1024 * 1024 * 1024, MaxExpandedBytes: 4L * 1024 * 1024 * 1024 * 1024);
}

/// <summary>An archive that must not be unpacked: damaged, or with an entry that would escape or exceed its place.</summary>
public sealed class MailArchiveRejectedException(string message) : Exception(message);

/// <summary>
/// An account's mail as one compressed archive (tar, zstd) for dedistribution: the child builds it with a manifest,
/// the parent checks the archive's SHA-256 and unpacks it defensively (no path outside the account's mailboxes, no
/// links or devices, every file exactly as the manifest says, within limits) into a staging folder, and only then
/// moves the files into place.
/// </summary>
public static class MailArchive
{
    /// <summary>Where archives wait on the mail filesystem, beside the mailboxes.</summary>
    public const string Folder = ".portal-archives";

    public static string ArchivePath(string mailRoot, Guid id) => Path.Combine(mailRoot, Folder, $"{id:N}.tar.zst");

    public static string ManifestPath(string mailRoot, Guid id) => Path.Combine(mailRoot, Folder, $"{id:N}.json");

    /// <summary>
    /// Archives the mailboxes (files that vanish meanwhile are left out: the final pass sees what became of them).
    /// Writes the archive and then its manifest, each to a temporary name renamed when complete and durable.
    /// </summary>
    public static async Task<MailArchiveManifest> CreateAsync(
        string mailRoot, string domain, IReadOnlyList<string> localParts, Guid id, Func<long, long, ValueTask> progress, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.Combine(mailRoot, Folder));
        var archivePath = ArchivePath(mailRoot, id);
        var partial = archivePath + ".partial";
        var entries = new List<ArchiveEntry>();
        long expanded = 0;
        using var archiveHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long archiveBytes;
        await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1024 * 1024))
        {
            var hashing = new HashingWriteStream(file, archiveHash);
            await using (var zstd = new CompressionStream(hashing, level: 3, leaveOpen: true))
            await using (var tar = new TarWriter(zstd, TarEntryFormat.Pax, leaveOpen: true))
            {
                foreach (var local in localParts)
                {
                    var mailbox = Maildir.MailboxPath(mailRoot, domain, local);
                    foreach (var mailFile in Maildir.Enumerate(mailbox))
                    {
                        ct.ThrowIfCancellationRequested();
                        byte[] content;
                        try
                        {
                            content = await File.ReadAllBytesAsync(Path.Combine(mailbox, mailFile.Path), ct);
                        }
                        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
                        {
                            continue;
                        }

                        var entry = new ArchiveEntry(local, mailFile.Path, content.Length, Convert.ToHexStringLower(SHA256.HashData(content)));
                        await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, entry.Name)
                        {
                            DataStream = new MemoryStream(content, writable: false),
                            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                        }, ct);
                        entries.Add(entry);
                        expanded += content.Length;
                        await progress(entries.Count, expanded);
                    }
                }
            }

            await file.FlushAsync(ct);
            file.Flush(flushToDisk: true);
            archiveBytes = file.Length;
        }

        File.Move(partial, archivePath, overwrite: true);
        var manifest = new MailArchiveManifest(domain, Convert.ToHexStringLower(archiveHash.GetHashAndReset()), archiveBytes, expanded, entries);
        var manifestPath = ManifestPath(mailRoot, id);
        await File.WriteAllTextAsync(manifestPath + ".partial", JsonSerializer.Serialize(manifest), ct);
        File.Move(manifestPath + ".partial", manifestPath, overwrite: true);
        FileSync.SyncFileSystem(mailRoot);
        return manifest;
    }

    /// <summary>
    /// Archives the mailboxes as
    /// <see cref="CreateAsync(string, string, IReadOnlyList{string}, Guid, Func{long, long, ValueTask}, CancellationToken)"/>
    /// does, as an operation's step: their size measured first, so the step shows messages and bytes done of the whole,
    /// with rate and time left.
    /// </summary>
    public static async Task<MailArchiveManifest> CreateAsync(IOperationRun run, string mailRoot, string domain, IReadOnlyList<string> localParts, CancellationToken ct)
    {
        long totalFiles = 0, totalBytes = 0;
        foreach (var local in localParts)
        {
            var (messages, bytes) = Maildir.Measure(Maildir.MailboxPath(mailRoot, domain, local));
            totalFiles += messages;
            totalBytes += bytes;
        }

        await run.ReportAsync(new StepProgress(0, totalFiles, 0, totalBytes), ct);
        return await CreateAsync(mailRoot, domain, localParts, run.OperationId,
            (files, bytes) => run.ReportAsync(new StepProgress(files, Math.Max(files, totalFiles), bytes, Math.Max(bytes, totalBytes)), ct), ct);
    }

    /// <summary>Removes an archive and its manifest (and their partial forms).</summary>
    public static void Delete(string mailRoot, Guid id)
    {
        foreach (var path in new[] { ArchivePath(mailRoot, id), ManifestPath(mailRoot, id) })
        {
            File.Delete(path);
            File.Delete(path + ".partial");
        }
    }

    /// <summary>The SHA-256 (hex) of a whole file.</summary>
    public static async Task<string> HashFileAsync(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1024 * 1024);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }

    /// <summary>
    /// Unpacks a fetched archive into <paramref name="staging"/>, refusing it whole at the first thing wrong: a SHA-256
    /// other than the manifest's, an entry that is not a plain file, a name outside the account's mailboxes, a file
    /// the manifest does not list or lists otherwise, one missing, or more files or bytes than the limits allow.
    /// </summary>
    public static async Task ExtractAsync(
        string archivePath, MailArchiveManifest manifest, IReadOnlySet<string> localParts, string staging, ArchiveLimits limits,
        Func<long, long, ValueTask> progress, CancellationToken ct)
    {
        var actual = await HashFileAsync(archivePath, ct);
        if (!string.Equals(actual, manifest.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new MailArchiveRejectedException($"The archive is damaged: its SHA-256 is {actual}, the child made {manifest.Sha256}. Nothing was unpacked; fetch it again.");
        }

        if (manifest.Files.Count > limits.MaxFiles || manifest.ExpandedBytes > limits.MaxExpandedBytes)
        {
            throw new MailArchiveRejectedException($"The archive holds {manifest.Files.Count} files, {manifest.ExpandedBytes} bytes expanded; this node takes at most {limits.MaxFiles} files and {limits.MaxExpandedBytes} bytes.");
        }

        var expected = new Dictionary<string, ArchiveEntry>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            CheckName(file.Name, localParts);
            if (!expected.TryAdd(file.Name, file))
            {
                throw new MailArchiveRejectedException($"The manifest lists {file.Name} twice.");
            }
        }

        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        Directory.CreateDirectory(staging);
        if (manifest.Files.Count == 0)
        {
            // An account without a single message: the child's TarWriter wrote no record at all (it writes the
            // archive's end only after an entry), which a TarReader cannot read. Nothing to unpack, if nothing is there.
            await using var empty = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read);
            await using var unpacked = new DecompressionStream(empty);
            var block = new byte[64 * 1024];
            int read;
            while ((read = await unpacked.ReadAsync(block, ct)) > 0)
            {
                if (block.AsSpan(0, read).ContainsAnyExcept((byte)0))
                {
                    throw new MailArchiveRejectedException("The archive holds files its manifest does not list. Nothing was unpacked.");
                }
            }

            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        long files = 0, bytes = 0;
        var buffer = new byte[1024 * 1024];
        await using (var stream = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1024 * 1024))
        await using (var zstd = new DecompressionStream(stream, leaveOpen: true))
        await using (var tar = new TarReader(zstd, leaveOpen: true))
        {
            while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                var name = entry.Name;
                if (entry.EntryType == TarEntryType.Directory)
                {
                    CheckName(name.TrimEnd('/'), localParts, directory: true);
                    continue;
                }

                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                {
                    throw new MailArchiveRejectedException($"The archive's entry {name} is a {Describe(entry.EntryType)}, not a plain file; an archive of mail holds only files.");
                }

                CheckName(name, localParts);
                if (entry.Length > limits.MaxEntryBytes)
                {
                    throw new MailArchiveRejectedException($"The archive's entry {name} is {entry.Length} bytes, more than the {limits.MaxEntryBytes} a single message may be.");
                }

                if (!expected.TryGetValue(name, out var listed))
                {
                    throw new MailArchiveRejectedException($"The archive's entry {name} is not in its manifest.");
                }

                if (!seen.Add(name))
                {
                    throw new MailArchiveRejectedException($"The archive holds {name} twice.");
                }

                if (entry.Length != listed.Size || bytes + entry.Length > manifest.ExpandedBytes)
                {
                    throw new MailArchiveRejectedException($"The archive's entry {name} is {entry.Length} bytes; the manifest says {listed.Size}.");
                }

                var target = Path.Combine(staging, listed.LocalPart, listed.Path);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                await using (var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0))
                {
                    if (entry.DataStream is { } data)
                    {
                        int read;
                        while ((read = await data.ReadAsync(buffer, ct)) > 0)
                        {
                            hash.AppendData(buffer, 0, read);
                            await output.WriteAsync(buffer.AsMemory(0, read), ct);
                        }
                    }
                }

                var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (sha != listed.Sha256)
                {
                    throw new MailArchiveRejectedException($"The archive's entry {name} does not match its manifest (SHA-256 {sha}, listed {listed.Sha256}).");
                }

                files++;
                bytes += entry.Length;
                await progress(files, bytes);
            }
        }

        if (seen.Count != expected.Count)
        {
            var missing = expected.Keys.First(k => !seen.Contains(k));
            throw new MailArchiveRejectedException($"The archive lacks {expected.Count - seen.Count} file(s) its manifest lists (first: {missing}).");
        }

        FileSync.SyncFileSystem(staging);
    }

    /// <summary>
    /// Moves the unpacked files from staging into the account's mailboxes (a file already there, from an earlier
    /// attempt, is the same message and is replaced), then makes the renames durable.
    /// </summary>
    public static int PlaceInMailboxes(string staging, string mailRoot, string domain)
    {
        var placed = 0;
        foreach (var file in Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(staging, file);
            var target = Path.Combine(mailRoot, domain, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(file, target, overwrite: true);
            placed++;
        }

        foreach (var mailbox in Directory.EnumerateDirectories(staging))
        {
            Maildir.QuotaChanged(Maildir.MailboxPath(mailRoot, domain, Path.GetFileName(mailbox)));
        }

        FileSync.SyncFileSystem(mailRoot);
        Directory.Delete(staging, recursive: true);
        return placed;
    }

    /// <summary>
    /// Whether every file the manifest lists is in the account's mailboxes with its SHA-256: what an unpack leaves once
    /// it has placed everything and deleted the archive, if it stopped (a crash, its database away) before it could
    /// record that it was done.
    /// </summary>
    public static bool AllPlaced(MailArchiveManifest manifest, string mailRoot, string domain)
    {
        var buffer = new byte[1024 * 1024];
        return manifest.Files.All(f => Maildir.IsSafeRelativePath(f.Path)
            && MailReceiver.HashFile(Path.Combine(Maildir.MailboxPath(mailRoot, domain, f.LocalPart), f.Path), buffer) == f.Sha256);
    }

    /// <summary>An entry name must be <c>localpart/path</c> with a mailbox of this account and a safe Maildir path.</summary>
    private static void CheckName(string name, IReadOnlySet<string> localParts, bool directory = false)
    {
        var slash = name.IndexOf('/');
        var local = slash < 0 ? name : name[..slash];
        var rest = slash < 0 ? "" : name[(slash + 1)..];
        var safe = !name.StartsWith('/') && !name.Contains('\\') && !name.Contains('\0')
            && name.Split('/').All(segment => segment is not ("" or "." or ".."))
            && localParts.Contains(local)
            && (directory || Maildir.IsSafeRelativePath(rest));
        if (!safe)
        {
            throw new MailArchiveRejectedException($"The archive's entry \"{name}\" points outside the account's mailboxes; nothing was unpacked.");
        }
    }

    private static string Describe(TarEntryType type) => type switch
    {
        TarEntryType.SymbolicLink => "symbolic link",
        TarEntryType.HardLink => "hard link",
        TarEntryType.CharacterDevice or TarEntryType.BlockDevice => "device",
        TarEntryType.Fifo => "named pipe",
        _ => type.ToString(),
    };

    /// <summary>Passes writes through while hashing them: the archive's SHA-256 without reading it back.</summary>
    private sealed class HashingWriteStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            hash.AppendData(buffer.Span);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
