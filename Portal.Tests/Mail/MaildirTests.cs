using Microsoft.Extensions.Logging.Abstractions;

namespace Portal.Tests.Mail;

public sealed class MaildirTests
{
    [Theory]
    [InlineData("cur/1700000000.M1P2.host,S=10:2,S", true)]
    [InlineData("new/1700000000.M1P2.host,S=10", true)]
    [InlineData(".Sent/cur/1700000000.M1P2.host,S=10:2,S", true)]
    [InlineData("tmp/partial", false)]
    [InlineData("../other/cur/x", false)]
    [InlineData("cur/../../etc/passwd", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData(".Sent/../cur/x", false)]
    [InlineData("cur//x", false)]
    [InlineData("Sent/cur/x", false)]
    [InlineData(".Sent/tmp/x", false)]
    [InlineData("cur\\x", false)]
    public void OnlyMessagePathsInsideAMailbox_AreSafe(string path, bool safe) => Assert.Equal(safe, Maildir.IsSafeRelativePath(path));

    [Fact]
    public void BaseName_IsTheNameWithoutFlags() =>
        Assert.Equal("1700000000.M1P2.host,S=10", Maildir.BaseName("1700000000.M1P2.host,S=10:2,FS"));

    [Fact]
    public void ADiscardedMailbox_LeavesItsPlaceAtOnce_AndGoesWhenTheTrashIsEmptied()
    {
        using var folder = new TempFolder("portal-trash-");
        var root = folder.Path;
        var mailbox = Maildir.MailboxPath(root, "example.test", "alice");
        Maildir.CreateMailbox(mailbox);
        File.WriteAllText(Path.Combine(mailbox, "cur", "1000.a:2,S"), "message");

        MailTrash.Discard(root, mailbox);
        MailTrash.Discard(root, mailbox); // already gone: nothing to do

        Assert.False(Directory.Exists(mailbox));
        var discarded = Assert.Single(Directory.GetDirectories(Path.Combine(root, MailTrash.Folder)));
        Assert.True(File.Exists(Path.Combine(discarded, "cur", "1000.a:2,S")));
        Assert.Equal(1, MailTrash.Empty(root));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(root, MailTrash.Folder)));
        Assert.Equal(0, MailTrash.Empty(root));
    }

    [Fact]
    public async Task Delivery_GoesThroughTmpIntoNew_AndIsEnumerated()
    {
        var mailbox = Path.Combine(TestEnvironment.RunFolder, "maildir-" + Guid.NewGuid().ToString("N"), "example.test", "alice");

        var path = await Maildir.DeliverAsync(mailbox, "Subject: hi\r\n\r\nhello"u8.ToArray(), "test", CancellationToken.None);

        Assert.StartsWith("new/", path);
        Assert.Empty(Directory.GetFiles(Path.Combine(mailbox, "tmp")));
        Assert.True(Directory.Exists(Path.Combine(mailbox, ".Sent", "cur")));
        var file = Assert.Single(Maildir.Enumerate(mailbox));
        Assert.Equal(path, file.Path);
        Assert.Equal(20, file.Size);
    }
}

/// <summary>The files Dovecot and Postfix read, exactly.</summary>
public sealed class MailServicesTests
{
    private static readonly MailState State = new(
        LocalDomains: ["example.test"],
        Users: [new MailUser("alice@example.test", "{SHA512-CRYPT}$6$salt$hash", "/srv/mail/example.test/alice", 1048576)],
        Forwards:
        [
            new MailForward("sales@example.test", "alice@example.test", IsPipe: false, Enabled: true),
            new MailForward("sales@example.test", "bob@elsewhere.test", IsPipe: false, Enabled: true),
            new MailForward("tickets@example.test", "/usr/local/bin/ticket", IsPipe: true, Enabled: false),
        ],
        Routes: [new MailRoute("moved.test", "192.0.2.23")]);

    private static MailServerAdapter Services(string dir, string? doveadm = null, string? config = null) =>
        new(new MailServerAdapterSettings { StateDirectory = dir, Uid = 5000, Gid = 5000, Doveadm = doveadm, DovecotConfig = config }, NullLogger<MailServerAdapter>.Instance);

    [Fact]
    public async Task Publish_WritesTheFormatsTheServersRead()
    {
        var dir = Path.Combine(TestEnvironment.RunFolder, "mail-state-" + Guid.NewGuid().ToString("N"));

        await Services(dir).PublishAsync(State, CancellationToken.None);

        Assert.Equal(
            $"alice@example.test:{{SHA512-CRYPT}}$6$salt$hash:5000:5000::{dir}/home/alice@example.test::userdb_mail=maildir:/srv/mail/example.test/alice userdb_quota_rule=*:bytes=1048576\n",
            File.ReadAllText(Path.Combine(dir, MailServerAdapter.PasswdFile)));
        Assert.Equal("moved.test:::::::proxy=y host=192.0.2.23 nopassword=y\n", File.ReadAllText(Path.Combine(dir, MailServerAdapter.ProxyFile)));
        Assert.Equal("moved.test smtp:[192.0.2.23]:25\n", File.ReadAllText(Path.Combine(dir, MailServerAdapter.TransportFile)));
        Assert.Equal("example.test OK\n", File.ReadAllText(Path.Combine(dir, MailServerAdapter.DomainsFile)));
        Assert.Equal("alice@example.test /srv/mail/example.test/alice/\n", File.ReadAllText(Path.Combine(dir, MailServerAdapter.MailboxMapFile)));
        Assert.Equal(
            "sales@example.test alice@example.test, bob@elsewhere.test\n# pipe (disabled): tickets@example.test |/usr/local/bin/ticket\n",
            File.ReadAllText(Path.Combine(dir, MailServerAdapter.AliasMapFile)));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));
    }

    [Fact]
    public async Task EndSessions_RunsDoveadmKickAndProxyKick_WithTheConfiguredConfig()
    {
        var dir = Path.Combine(TestEnvironment.RunFolder, "doveadm-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var log = Path.Combine(dir, "calls");
        var fake = Path.Combine(dir, "doveadm");
        File.WriteAllText(fake, $"#!/bin/sh\necho \"$@\" >> {log}\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var result = await Services(dir, fake, "/etc/dovecot/parent.conf").EndSessionsAsync("alice@example.test", CancellationToken.None);

        Assert.True(result.Ran);
        Assert.Equal(["-c /etc/dovecot/parent.conf kick alice@example.test", "-c /etc/dovecot/parent.conf proxy kick alice@example.test"], File.ReadAllLines(log));
    }

    [Fact]
    public async Task EndSessions_WithoutDovecot_DoesNothing()
    {
        var result = await Services(TestEnvironment.RunFolder).EndSessionsAsync("alice@example.test", CancellationToken.None);

        Assert.False(result.Ran);
    }
}
