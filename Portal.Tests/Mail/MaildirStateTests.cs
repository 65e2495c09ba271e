using System.Text;

namespace Portal.Tests.Mail;

/// <summary>
/// Dovecot's state files (UIDs, keywords, subscriptions) travel with a move so mail clients keep what they know; they
/// come from another node, so only those names, in the shapes Dovecot writes, are taken, and only by the state batch.
/// </summary>
public sealed class MaildirStateTests : IDisposable
{
    private readonly TempFolder _temp = new("portal-state-");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("dovecot-uidlist", true)]
    [InlineData("dovecot-keywords", true)]
    [InlineData("subscriptions", true)]
    [InlineData("dovecot-uidvalidity", true)]
    [InlineData("dovecot-uidvalidity.5f3a2b1c", true)]
    [InlineData(".Sent/dovecot-uidlist", true)]
    [InlineData(".Sent/dovecot-keywords", true)]
    [InlineData(".Sent/subscriptions", false)]
    [InlineData("cur/dovecot-uidlist", false)]
    [InlineData("../other.example/dovecot-uidlist", false)]
    [InlineData("./dovecot-uidlist", false)]
    [InlineData("/dovecot-uidlist", false)]
    [InlineData("dovecot.index", false)]
    [InlineData("dovecot-uidvalidity.zz", false)]
    [InlineData(".Sent/.Old/dovecot-uidlist", false)]
    [InlineData("cur/1.M1.host,S=1", false)]
    public void OnlyDovecotsStateFiles_AreStatePaths(string path, bool state) => Assert.Equal(state, MaildirState.IsStatePath(path));

    [Theory]
    [InlineData("dovecot-uidlist", "3 V1795940603 N3 G3085f01b\n1 W120 :1700000000.M1P2.host,S=100\n2 :1700000001.M2P2.host,S=90\n", null)]
    [InlineData("dovecot-uidlist", "2 V1 N3\n", "version 3 uidlist")]
    [InlineData("dovecot-uidlist", "3 V1 N3\n1 :../../other/cur/x\n", "<uid> ... :<file name>")]
    [InlineData("dovecot-keywords", "0 project-x\n1 $Label1\n", null)]
    [InlineData("dovecot-keywords", "0 two words\n", "<number> <keyword>")]
    [InlineData("dovecot-uidvalidity", "6b0e5c3b\n", null)]
    [InlineData("dovecot-uidvalidity", "not hex", "hexadecimal")]
    [InlineData("subscriptions", "V\t2\n\nSent\n\0", "NUL")]
    public void AStateFilesContent_MustLookLikeWhatDovecotWrites(string path, string content, string? problem)
    {
        var found = MaildirState.ContentProblem(path, Encoding.UTF8.GetBytes(content));

        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found);
        }
    }

    [Fact]
    public async Task TheStateBatch_TakesStateFilesOnly_DropsTheFoldersIndexes_AndTheMessageBatchNoStateFile()
    {
        var source = Path.Combine(_temp.Path, "source");
        var target = Path.Combine(_temp.Path, "target");
        var sender = Path.Combine(source, "mine.example", "alice");
        Maildir.CreateMailbox(sender);
        await File.WriteAllTextAsync(Path.Combine(sender, "cur", "1.M1.host,S=5:2,S"), "hello");
        await File.WriteAllTextAsync(Path.Combine(sender, "dovecot-uidlist"), "3 V1795940603 N2\n1 :1.M1.host,S=5\n");
        await File.WriteAllTextAsync(Path.Combine(sender, ".Sent", "dovecot-uidlist"), "3 V1795940604 N1\n");
        await File.WriteAllTextAsync(Path.Combine(sender, "dovecot-keywords"), "0 two words\n");
        var receiving = Path.Combine(target, "mine.example", "alice");
        Maildir.CreateMailbox(receiving);
        await File.WriteAllTextAsync(Path.Combine(receiving, "dovecot.index"), "old cache");
        await File.WriteAllTextAsync(Path.Combine(receiving, ".Sent", "dovecot.index.log"), "old log");
        var receiver = new MailReceiver(target);
        var alice = new HashSet<string> { "alice" };

        var state = await receiver.ReceiveAsync(await BatchAsync(source, "dovecot-uidlist", ".Sent/dovecot-uidlist", "dovecot-keywords", "cur/1.M1.host,S=5:2,S"), "mine.example", alice, CancellationToken.None, state: true);
        var messages = await receiver.ReceiveAsync(await BatchAsync(source, "dovecot-uidlist"), "mine.example", alice, CancellationToken.None);

        Assert.Equal(2, state.Accepted);
        Assert.Equal("3 V1795940603 N2\n1 :1.M1.host,S=5\n", await File.ReadAllTextAsync(Path.Combine(receiving, "dovecot-uidlist")));
        Assert.True(File.Exists(Path.Combine(receiving, ".Sent", "dovecot-uidlist")));
        Assert.Contains(state.Rejected, r => r.Path == "dovecot-keywords" && r.Reason.Contains("<number> <keyword>", StringComparison.Ordinal));
        Assert.Contains(state.Rejected, r => r.Path == "cur/1.M1.host,S=5:2,S");
        Assert.False(File.Exists(Path.Combine(receiving, "cur", "1.M1.host,S=5:2,S")), "a message in the state batch is not taken");
        Assert.False(File.Exists(Path.Combine(receiving, "dovecot.index")), "Dovecot's cache of the old state is dropped");
        Assert.False(File.Exists(Path.Combine(receiving, ".Sent", "dovecot.index.log")));
        Assert.Equal(0, messages.Accepted);
        Assert.Single(messages.Rejected);
    }

    [Fact]
    public void AMailboxsStateFiles_AreListedWithTheirSizes_AndNoMessage()
    {
        var mailbox = Path.Combine(_temp.Path, "listed");
        Maildir.CreateMailbox(mailbox);
        File.WriteAllText(Path.Combine(mailbox, "cur", "1.M1.host,S=5"), "hello");
        MailGenerator.WriteState(mailbox, 1795940603);

        var listed = MaildirState.Enumerate(mailbox).Select(f => f.Path).Order(StringComparer.Ordinal).ToList();

        Assert.Contains("dovecot-uidlist", listed);
        Assert.Contains(".Sent/dovecot-keywords", listed);
        Assert.Contains("subscriptions", listed);
        Assert.Contains("dovecot-uidvalidity.6b0be0fb", listed);
        Assert.DoesNotContain(listed, p => p.Contains("cur/", StringComparison.Ordinal));
        Assert.All(listed, p => Assert.True(MaildirState.IsStatePath(p), p));
    }

    private static async Task<MemoryStream> BatchAsync(string mailRoot, params string[] paths)
    {
        var content = new MailBatchContent(mailRoot, "mine.example",
            paths.Select(p => new PlannedCopy("alice", new MailFile(p, new FileInfo(Path.Combine(mailRoot, "mine.example", "alice", p)).Length))).ToList());
        var stream = new MemoryStream();
        await content.CopyToAsync(stream);
        stream.Position = 0;
        return stream;
    }
}
