using System.Formats.Tar;
using System.Security.Cryptography;
using ZstdSharp;

namespace Portal.Tests.Mail;

/// <summary>
/// The dedistribution archive: what the child builds unpacks to exactly the mailboxes it came from, and an archive
/// that is damaged or tries to escape, link, or overflow is refused whole before a file lands in a mailbox.
/// </summary>
public sealed class MailArchiveTests : IDisposable
{
    private static readonly HashSet<string> Mailboxes = new(["alice", "bob"], StringComparer.Ordinal);
    private readonly string _root = Path.Combine(TestEnvironment.RunFolder, "archive-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task TheArchiveOfMailboxesWithoutAMessage_UnpacksToNothing()
    {
        var child = Path.Combine(_root, "child-empty");
        Maildir.CreateMailbox(Path.Combine(child, "example.test", "alice"));
        var id = Guid.NewGuid();

        var manifest = await MailArchive.CreateAsync(child, "example.test", ["alice", "bob"], id, (_, _) => ValueTask.CompletedTask, CancellationToken.None);
        var staging = Path.Combine(_root, "parent-empty", ".portal-staging", "x");
        await MailArchive.ExtractAsync(MailArchive.ArchivePath(child, id), manifest, Mailboxes, staging, ArchiveLimits.Default, (_, _) => ValueTask.CompletedTask, CancellationToken.None);

        Assert.Empty(manifest.Files);
        Assert.Equal(0, MailArchive.PlaceInMailboxes(staging, Path.Combine(_root, "parent-empty"), "example.test"));
    }

    [Fact]
    public async Task AnArchive_UnpacksToExactlyTheMailboxesItWasMadeOf()
    {
        var child = Path.Combine(_root, "child");
        var generator = new MailGenerator(5);
        generator.Fill(Path.Combine(child, "example.test", "alice"), 120);
        generator.Fill(Path.Combine(child, "example.test", "bob"), 40);
        var id = Guid.NewGuid();
        var progress = 0L;

        var manifest = await MailArchive.CreateAsync(child, "example.test", ["alice", "bob"], id, (files, _) => { progress = files; return ValueTask.CompletedTask; }, CancellationToken.None);

        Assert.Equal(160, manifest.Files.Count);
        Assert.Equal(160, progress);
        Assert.Equal(manifest.Sha256, await MailArchive.HashFileAsync(MailArchive.ArchivePath(child, id), CancellationToken.None));
        Assert.True(manifest.ArchiveBytes < manifest.ExpandedBytes, "the archive is compressed");
        var parent = Path.Combine(_root, "parent");
        var staging = Path.Combine(parent, ".portal-staging", "x");
        await MailArchive.ExtractAsync(MailArchive.ArchivePath(child, id), manifest, Mailboxes, staging, ArchiveLimits.Default, (_, _) => ValueTask.CompletedTask, CancellationToken.None);
        // Dovecot's running count of a mailbox's usage, from before the unpack: Dovecot must count again.
        var quotaFile = Path.Combine(parent, "example.test", "bob", Maildir.QuotaFile);
        Directory.CreateDirectory(Path.GetDirectoryName(quotaFile)!);
        File.WriteAllText(quotaFile, "1073741824S\n0 0\n");
        Assert.Equal(160, MailArchive.PlaceInMailboxes(staging, parent, "example.test"));
        Assert.False(File.Exists(quotaFile), "Dovecot's quota count was left as if nothing had been unpacked");
        foreach (var local in Mailboxes)
        {
            Assert.Equal(MailGenerator.Snapshot(Path.Combine(child, "example.test", local)), MailGenerator.Snapshot(Path.Combine(parent, "example.test", local)));
        }

        Assert.False(Directory.Exists(staging));
        // What an unpack that stopped after placing everything leaves is recognised as done; a file missing or changed is not.
        Assert.True(MailArchive.AllPlaced(manifest, parent, "example.test"));
        var one = manifest.Files[7];
        var placed = Path.Combine(parent, "example.test", one.LocalPart, one.Path);
        File.AppendAllText(placed, "x");
        Assert.False(MailArchive.AllPlaced(manifest, parent, "example.test"));
        File.Delete(placed);
        Assert.False(MailArchive.AllPlaced(manifest, parent, "example.test"));
    }

    [Fact]
    public async Task ADamagedArchive_IsRefused_AndNothingIsUnpacked()
    {
        var child = Path.Combine(_root, "child");
        new MailGenerator(6).Fill(Path.Combine(child, "example.test", "alice"), 30);
        var id = Guid.NewGuid();
        var manifest = await MailArchive.CreateAsync(child, "example.test", ["alice"], id, (_, _) => ValueTask.CompletedTask, CancellationToken.None);
        var path = MailArchive.ArchivePath(child, id);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(path, bytes);

        var staging = Path.Combine(_root, "staging");
        var refused = await Assert.ThrowsAsync<MailArchiveRejectedException>(() => ExtractAsync(path, manifest, staging));

        Assert.Contains("damaged", refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(staging));
    }

    [Theory]
    [InlineData("../escaped", "outside")]
    [InlineData("alice/../../escaped", "outside")]
    [InlineData("/etc/cron.d/escaped", "outside")]
    [InlineData("mallory/cur/1", "outside")]
    [InlineData("alice/tmp/1", "outside")]
    public async Task AnEntryOutsideTheAccountsMailboxes_IsRefused(string name, string expected)
    {
        // The manifest is honest about the good file; the tar carries one more entry that tries to get out.
        var (path, manifest) = await CraftAsync(
            [("alice/cur/1:2,S", TarEntryType.RegularFile, "hello"u8.ToArray(), null), (name, TarEntryType.RegularFile, "gotcha"u8.ToArray(), null)],
            listed: ["alice/cur/1:2,S"]);
        var staging = Path.Combine(_root, "parent", ".portal-staging", "x");

        var refused = await Assert.ThrowsAsync<MailArchiveRejectedException>(() => ExtractAsync(path, manifest, staging));

        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(_root, "escaped", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData(TarEntryType.SymbolicLink, "symbolic link")]
    [InlineData(TarEntryType.HardLink, "hard link")]
    [InlineData(TarEntryType.CharacterDevice, "device")]
    [InlineData(TarEntryType.Fifo, "named pipe")]
    public async Task ALinkOrDeviceEntry_IsRefused(TarEntryType type, string expected)
    {
        var (path, manifest) = await CraftAsync(
            [("alice/cur/1:2,S", TarEntryType.RegularFile, "hello"u8.ToArray(), null), ("alice/cur/2:2,S", type, null, "/etc/passwd")],
            listed: ["alice/cur/1:2,S"]);

        var refused = await Assert.ThrowsAsync<MailArchiveRejectedException>(() => ExtractAsync(path, manifest, Path.Combine(_root, "staging")));

        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOversizedEntry_IsRefused_BeforeItIsWritten()
    {
        var big = new byte[64 * 1024];
        var (path, manifest) = await CraftAsync([("alice/cur/big:2,S", TarEntryType.RegularFile, big, null)], listed: ["alice/cur/big:2,S"]);
        var staging = Path.Combine(_root, "staging");

        var refused = await Assert.ThrowsAsync<MailArchiveRejectedException>(() =>
            MailArchive.ExtractAsync(path, manifest, Mailboxes, staging, ArchiveLimits.Default with { MaxEntryBytes = 16 * 1024 }, (_, _) => ValueTask.CompletedTask, CancellationToken.None));

        Assert.Contains("more than the 16384", refused.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task MoreFilesOrBytesThanTheLimits_AreRefused_BeforeUnpacking()
    {
        var (path, manifest) = await CraftAsync(
            [("alice/cur/1:2,S", TarEntryType.RegularFile, "a"u8.ToArray(), null), ("alice/cur/2:2,S", TarEntryType.RegularFile, "b"u8.ToArray(), null)],
            listed: ["alice/cur/1:2,S", "alice/cur/2:2,S"]);

        var refused = await Assert.ThrowsAsync<MailArchiveRejectedException>(() =>
            MailArchive.ExtractAsync(path, manifest, Mailboxes, Path.Combine(_root, "staging"), ArchiveLimits.Default with { MaxFiles = 1 }, (_, _) => ValueTask.CompletedTask, CancellationToken.None));

        Assert.Contains("at most 1 files", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFileOtherThanTheManifestSays_OrMissing_IsRefused()
    {
        var (path, manifest) = await CraftAsync([("alice/cur/1:2,S", TarEntryType.RegularFile, "hello"u8.ToArray(), null)], listed: ["alice/cur/1:2,S"]);
        var tampered = manifest with { Files = [manifest.Files[0] with { Sha256 = new string('0', 64) }] };
        var differs = await Assert.ThrowsAsync<MailArchiveRejectedException>(() => ExtractAsync(path, tampered, Path.Combine(_root, "s1")));
        Assert.Contains("does not match its manifest", differs.Message, StringComparison.Ordinal);

        var extra = manifest with { Files = [.. manifest.Files, new ArchiveEntry("bob", "cur/9:2,S", 1, new string('0', 64))], ExpandedBytes = manifest.ExpandedBytes + 1 };
        var missing = await Assert.ThrowsAsync<MailArchiveRejectedException>(() => ExtractAsync(path, extra, Path.Combine(_root, "s2")));
        Assert.Contains("lacks 1 file(s)", missing.Message, StringComparison.Ordinal);
    }

    private Task ExtractAsync(string path, MailArchiveManifest manifest, string staging) =>
        MailArchive.ExtractAsync(path, manifest, Mailboxes, staging, ArchiveLimits.Default, (_, _) => ValueTask.CompletedTask, CancellationToken.None);

    /// <summary>Writes a tar.zst with exactly these entries, and a manifest (with the archive's true SHA-256) of the listed ones.</summary>
    private async Task<(string Path, MailArchiveManifest Manifest)> CraftAsync(
        (string Name, TarEntryType Type, byte[]? Content, string? LinkTarget)[] entries, string[] listed)
    {
        Directory.CreateDirectory(_root);
        var path = Path.Combine(_root, Guid.NewGuid().ToString("N") + ".tar.zst");
        await using (var file = File.Create(path))
        await using (var zstd = new CompressionStream(file, leaveOpen: true))
        await using (var tar = new TarWriter(zstd, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, type, content, link) in entries)
            {
                var entry = new PaxTarEntry(type, name);
                if (content is not null)
                {
                    entry.DataStream = new MemoryStream(content);
                }

                if (link is not null && type is TarEntryType.SymbolicLink or TarEntryType.HardLink)
                {
                    entry.LinkName = link;
                }

                await tar.WriteEntryAsync(entry);
            }
        }

        var files = entries.Where(e => listed.Contains(e.Name)).Select(e =>
        {
            var slash = e.Name.IndexOf('/');
            return new ArchiveEntry(e.Name[..slash], e.Name[(slash + 1)..], e.Content!.Length, Convert.ToHexStringLower(SHA256.HashData(e.Content)));
        }).ToList();
        var manifest = new MailArchiveManifest("example.test", await MailArchive.HashFileAsync(path, CancellationToken.None), new FileInfo(path).Length, files.Sum(f => f.Size), files);
        return (path, manifest);
    }
}
