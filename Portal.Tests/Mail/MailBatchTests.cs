namespace Portal.Tests.Mail;

/// <summary>
/// A mail batch between nodes (<see cref="MailBatchFormat"/>): what a sender frames with either transit digest lands
/// whole on a receiver, a file damaged on the way is refused by name, and a sender uses XXH128 only with a receiver
/// that offers it, so a node of an older version still gets SHA-256.
/// </summary>
public sealed class MailBatchTests : IDisposable
{
    private readonly TempFolder _temp = new("portal-batch-");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(TransitDigest.Sha256)]
    [InlineData(TransitDigest.XxHash128)]
    public async Task ABatchFramedWithEitherDigest_LandsWhole(TransitDigest digest)
    {
        var (sender, receiver, files) = Mailboxes();
        // Dovecot's running count of the mailbox's usage, which the batch makes wrong.
        var quotaFile = Path.Combine(receiver, "mine.example", "alice", Maildir.QuotaFile);
        Directory.CreateDirectory(Path.GetDirectoryName(quotaFile)!);
        File.WriteAllText(quotaFile, "1073741824S\n0 0\n");

        var result = await SendAsync(sender, receiver, files, digest);

        Assert.Empty(result.Rejected);
        Assert.Equal(files.Count, result.Accepted);
        Assert.False(File.Exists(quotaFile), "Dovecot's quota count was left as if the batch had not come");
        Assert.Equal(
            MailGenerator.Snapshot(Path.Combine(sender, "mine.example", "alice")),
            MailGenerator.Snapshot(Path.Combine(receiver, "mine.example", "alice")));
    }

    [Theory]
    [InlineData(TransitDigest.Sha256, "sha256")]
    [InlineData(TransitDigest.XxHash128, "xxh128")]
    public async Task AFileDamagedOnTheWay_IsRefused_AndNotPlaced(TransitDigest digest, string named)
    {
        var (sender, receiver, files) = Mailboxes();

        var result = await SendAsync(sender, receiver, files, digest, damage: 2);

        Assert.Equal(2, result.Rejected.Count);
        Assert.All(result.Rejected, r => Assert.Equal($"The content did not match its {named} digest (damaged in transit).", r.Reason));
        Assert.Equal(files.Count - 2, result.Accepted);
        foreach (var rejected in result.Rejected)
        {
            Assert.False(File.Exists(Path.Combine(receiver, "mine.example", "alice", rejected.Path)), $"{rejected.Path} was placed although damaged");
        }
    }

    [Fact]
    public void ASender_UsesXxh128_OnlyWithAReceiverThatOffersIt()
    {
        var root = Path.Combine(_temp.Path, "mail");
        var manifest = MailReceiver.Manifest(root, "mine.example", ["alice"], ManifestDetail.Paths);
        Assert.Equal(TransitDigest.XxHash128, MailBatchFormat.DigestFor(manifest.TransitDigests));

        // A node of an older version sends a manifest without the field, or offers what it knows only.
        var older = JsonSerializer.Deserialize<MailManifest>("""{"mailboxes":[]}""", JsonSerializerOptions.Web)!;
        Assert.Null(older.TransitDigests);
        Assert.Equal(TransitDigest.Sha256, MailBatchFormat.DigestFor(older.TransitDigests));
        Assert.Equal(TransitDigest.Sha256, MailBatchFormat.DigestFor(["sha256"]));

        // An export request naming nothing, or something unknown, is answered with SHA-256, which every receiver takes.
        Assert.Equal(TransitDigest.Sha256, MailBatchFormat.Parse(null));
        Assert.Equal(TransitDigest.Sha256, MailBatchFormat.Parse("md5"));
        Assert.Equal(TransitDigest.XxHash128, MailBatchFormat.Parse("xxh128"));
    }

    /// <summary>A sender's mailbox of small messages and one larger than a read buffer (hashed in pieces), and an empty receiver.</summary>
    private (string Sender, string Receiver, List<PlannedCopy> Files) Mailboxes()
    {
        var sender = Path.Combine(_temp.Path, "sender");
        var receiver = Path.Combine(_temp.Path, "receiver");
        var mailbox = Path.Combine(sender, "mine.example", "alice");
        new MailGenerator(31).Fill(mailbox, 12);
        var large = Path.Combine(mailbox, "cur", "1700000000.M1P1.host,S=3145728:2,S");
        File.WriteAllBytes(large, Enumerable.Range(0, 3 * 1024 * 1024).Select(i => (byte)(i * 31 % 251)).ToArray());
        Directory.CreateDirectory(receiver);
        var files = MailSyncPlanner.Scan(sender, "mine.example", ["alice"])["alice"].Select(f => new PlannedCopy("alice", f)).ToList();
        return (sender, receiver, files);
    }

    private static async Task<BatchResult> SendAsync(string sender, string receiver, List<PlannedCopy> files, TransitDigest digest, int damage = 0)
    {
        using var batch = new MemoryStream();
        await new MailBatchContent(sender, "mine.example", files, digestKind: digest).CopyToAsync(batch);
        batch.Position = 0;
        var target = new MailReceiver(receiver);
        target.CorruptNextFiles(damage);
        return await target.ReceiveAsync(batch, "mine.example", new HashSet<string> { "alice" }, CancellationToken.None);
    }
}
