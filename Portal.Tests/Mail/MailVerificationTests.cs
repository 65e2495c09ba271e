namespace Portal.Tests.Mail;

/// <summary>
/// A move's verification after its final pass: a message the old node saved after that pass listed the mailbox (a
/// delivery under way at the switch) is brought by another pass, and only mail no pass brings fails the move.
/// </summary>
public sealed class MailVerificationTests
{
    private static MailManifest Manifest(params string[] files) =>
        new([new MailboxManifest("carl", files.Select(f => new ManifestFile(f, 10, "sha-" + f)).ToList())]);

    [Fact]
    public async Task AMessageSavedOnTheOldNodeAfterTheFinalPass_IsBroughtByAnotherPass_AndTheMoveVerifies()
    {
        var run = new RecordingRun();
        var receiver = Manifest("cur/1.a:2,S");
        var passes = 0;

        var (messages, _) = await MailVerification.VerifyAfterFinalPassAsync(run,
            _ => Task.FromResult((Manifest("cur/1.a:2,S", "new/2.late"), receiver)),
            _ => { passes++; receiver = Manifest("cur/1.a:2,S", "new/2.late"); return Task.CompletedTask; },
            "mail-1", count => $"{count} not there", CancellationToken.None);

        Assert.Equal(2, messages);
        Assert.Equal(1, passes);
        Assert.Contains(run.Lines, l => l.StartsWith("mail-1 holds mail the final pass did not bring (carl: 1 of 2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MailThatNoPassBrings_FailsTheVerification_AfterTheExtraPasses()
    {
        var run = new RecordingRun();
        var passes = 0;

        var failure = await Assert.ThrowsAsync<IOException>(() => MailVerification.VerifyAfterFinalPassAsync(run,
            _ => Task.FromResult((Manifest("cur/1.a", "cur/2.b"), Manifest("cur/1.a"))),
            _ => { passes++; return Task.CompletedTask; },
            "mail-1", count => $"{count} mailbox(es) not there", CancellationToken.None));

        Assert.Equal("1 mailbox(es) not there", failure.Message);
        Assert.Equal(MailVerification.ExtraFinalPasses, passes);
        Assert.Contains(run.Lines, l => l.StartsWith("carl: 1 of 2 message(s) differ or are missing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADistributionsVerification_ComparingNamesOnly_PassesAgainForAMessageTheChildLacks_AndStopsOnceItHasIt()
    {
        // The parent-to-child copy lists names only (no digests) before it judges each mailbox.
        static MailManifest Names(params string[] files) => new([new MailboxManifest("carl", files.Select(f => new ManifestFile(f, 10, null)).ToList())]);
        var run = new RecordingRun();
        var child = Names("cur/1.a:2,S");
        var passes = 0;

        var (_, receiver) = await MailVerification.PassAgainWhileMissingAsync(run,
            _ => Task.FromResult((Names("cur/1.a:2,S", "new/2.late"), child)),
            _ => { passes++; child = Names("cur/1.a:2,S", "new/2.late"); return Task.CompletedTask; },
            "This node", CancellationToken.None);

        Assert.Equal(1, passes);
        Assert.Equal(2, receiver.Mailboxes[0].Files.Count);
        Assert.Contains(run.Lines, l => l.StartsWith("This node holds mail the final pass did not bring (carl: 1 of 2", StringComparison.Ordinal));
    }
}
