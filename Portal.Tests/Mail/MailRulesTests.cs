using System.Buffers.Binary;
using System.Text;

namespace Portal.Tests.Mail;

/// <summary>The rules every mailbox, address, forwarder, hash and path passes, whoever sends them.</summary>
public sealed class MailRulesTests : IDisposable
{
    private readonly TempFolder _temp = new("portal-rules-");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("alice@example.com", true)]
    [InlineData("first.last+tag@sub.example.co.uk", true)]
    [InlineData("a b@c.example", false)]
    [InlineData("a\tb@c.example", false)]
    [InlineData("a@b.example, c@d.example", false)]
    [InlineData("a@b.example\nc@d.example", false)]
    [InlineData("\"quoted\"@b.example", false)]
    [InlineData("@b.example", false)]
    [InlineData("a@b", false)]
    public void AForwardDestination_IsExactlyOneAddress(string destination, bool accepted) =>
        Assert.Equal(accepted, MailRules.IsSingleAddress(destination));

    [Theory]
    [InlineData("ceo", true)]
    [InlineData("first.last", true)]
    [InlineData("../victim.example/ceo", false)]
    [InlineData("a/b", false)]
    [InlineData("..", false)]
    [InlineData(".hidden", false)]
    [InlineData("a..b", false)]
    [InlineData("UPPER", false)]
    public void AMailboxName_CannotLeaveItsDomainsFolder(string local, bool accepted) =>
        Assert.Equal(accepted, MailRules.IsLocalPart(local));

    [Fact]
    public void APasswordHash_IsOnlyTheSchemePortalWrites_AndCannotEndItsLine()
    {
        var hash = ShaCrypt.HashForDovecot("alice-Kq7vZp3xWm9t");

        Assert.True(MailRules.IsPasswordHash(hash));
        Assert.False(MailRules.IsPasswordHash(hash + ":0:0::/root::"));
        Assert.False(MailRules.IsPasswordHash(hash + "\nroot:{PLAIN}x"));
        Assert.False(MailRules.IsPasswordHash("{PLAIN}secret"));
        Assert.False(MailRules.IsPasswordHash("{SHA512-CRYPT}$6$salt$short"));
    }

    [Fact]
    public void AConfigurationFromAnotherNode_IsRefusedWhole_NamingEveryBadItem()
    {
        var hash = ShaCrypt.HashForDovecot("alice-Kq7vZp3xWm9t");
        var hostile = new MailConfiguration(
            [
                new MailAddressConfig("alice", hash, 1024, DateTimeOffset.UtcNow),
                new MailAddressConfig("../victim.example/ceo", hash, 0, DateTimeOffset.UtcNow),
                new MailAddressConfig("bob", hash, -5, DateTimeOffset.UtcNow),
                new MailAddressConfig("alice", hash, 0, DateTimeOffset.UtcNow),
            ],
            [
                new MailForwarderConfig("@victim.example", "thief@example.org", false, true),
                new MailForwarderConfig("sales@mine.example", "a@x.example b@y.example", false, true),
                new MailForwarderConfig("jobs@mine.example", "/bin/sh\n-c evil", true, true),
            ]);

        var failure = Assert.Throws<UntrustedDataException>(() => MailRules.EnsureAcceptable(hostile, "mine.example", "mail-1"));

        Assert.StartsWith("mail-1 sent mail settings of mine.example that Portal refuses: ", failure.Message);
        Assert.Contains("mailbox \"../victim.example/ceo\": not a valid mailbox name", failure.Message);
        Assert.Contains("mailbox \"bob\": a quota of -5 bytes is out of range", failure.Message);
        Assert.Contains("mailbox \"alice\": listed twice", failure.Message);
        Assert.Contains("forwarder from \"@victim.example\": not an address of mine.example", failure.Message);
        Assert.Contains("\"a@x.example b@y.example\" is not one email address", failure.Message);
        Assert.Contains("\"/bin/sh\\u000a-c evil\" is not a program's absolute path", failure.Message);
        Assert.Empty(MailRules.Problems(new MailConfiguration([hostile.Addresses[0]], []), "mine.example"));
    }

    [Fact]
    public void AMailboxPath_NeverLeavesItsDomainsFolder()
    {
        var root = Path.Combine(_temp.Path, "mail");

        Assert.Equal(Path.Combine(root, "mine.example", "ceo"), Maildir.MailboxPath(root, "mine.example", "ceo"));
        Assert.Throws<UnsafeMailPathException>(() => Maildir.MailboxPath(root, "mine.example", "../victim.example/ceo"));
        Assert.Throws<UnsafeMailPathException>(() => Maildir.MailboxPath(root, "../victim.example", "ceo"));
        Assert.Throws<UnsafeMailPathException>(() => Maildir.MailboxPath(root, "mine.example", ".."));
        Assert.Throws<UnsafeMailPathException>(() => Maildir.MailboxPath(root, "/etc", "passwd"));
    }

    [Theory]
    [InlineData("192.0.2.10", true)]
    [InlineData("127.0.0.31", true)]
    [InlineData("192.0.2.10 nopassword=y", false)]
    [InlineData("192.0.2.10\n", false)]
    [InlineData("1.2.3", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("::1", false)]
    public void ANodesReportedAddress_IsOnePlainIPv4Address(string address, bool accepted) =>
        Assert.Equal(accepted, ReportedAddress.IsAcceptable(address));

    [Fact]
    public async Task AMailBatchClaimingAHugeFile_IsRefusedBeforeAnythingIsReservedOrPlaced()
    {
        var root = Path.Combine(_temp.Path, "mail");
        Directory.CreateDirectory(root);
        using var batch = new MemoryStream();
        batch.WriteByte(MailBatchFormat.FileFrame);
        WriteString(batch, "alice");
        WriteString(batch, "cur/1.M1.host,S=1");
        var size = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(size, 1L << 40);
        batch.Write(size);
        batch.Position = 0;

        var refused = await Assert.ThrowsAsync<InvalidDataException>(() =>
            new MailReceiver(root).ReceiveAsync(batch, "mine.example", new HashSet<string> { "alice" }, CancellationToken.None));

        Assert.Contains("at most", refused.Message);
        Assert.Empty(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories));
    }

    private static void WriteString(Stream stream, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var length = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)bytes.Length);
        stream.Write(length);
        stream.Write(bytes);
    }
}
