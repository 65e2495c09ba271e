namespace Portal.Tests.Mail;

/// <summary>
/// Verification trusts a message only as the receiver checked it: accepted (not refused), the same mailbox, the same
/// message whatever its flags, and the same size as it is here now.
/// </summary>
public sealed class TransitLedgerTests
{
    private static readonly PlannedCopy[] Batch =
    [
        new("alice", new MailFile("cur/1700000000.M1P1.host,S=100:2,S", 100)),
        new("alice", new MailFile("new/1700000001.M2P1.host,S=200", 200)),
        new("bob", new MailFile("cur/1700000002.M3P1.host,S=300:2,", 300)),
    ];

    [Fact]
    public void AnAcceptedMessage_IsCovered_UnderAnyFlags_ButNotInAnotherMailbox_NorWithAnotherSize()
    {
        var ledger = new TransitLedger();
        ledger.Add(Batch, []);

        Assert.True(ledger.Covers("alice", new ManifestFile("cur/1700000000.M1P1.host,S=100:2,RS", 100)));
        Assert.True(ledger.Covers("alice", new ManifestFile("cur/1700000001.M2P1.host,S=200:2,", 200)));
        Assert.False(ledger.Covers("bob", new ManifestFile("cur/1700000000.M1P1.host,S=100:2,S", 100)));
        Assert.False(ledger.Covers("alice", new ManifestFile("cur/1700000000.M1P1.host,S=100:2,S", 99)));
        Assert.False(ledger.Covers("alice", new ManifestFile("cur/1700000009.M9P1.host,S=100:2,S", 100)));
    }

    [Fact]
    public void ARefusedMessage_IsNotCovered_UntilItsResendIsAccepted()
    {
        var ledger = new TransitLedger();
        ledger.Add(Batch, [new RejectedFile("bob", Batch[2].File.Path, "damaged in transit")]);
        Assert.False(ledger.Covers("bob", new ManifestFile(Batch[2].File.Path, 300)));

        ledger.Add([Batch[2]], []);
        Assert.True(ledger.Covers("bob", new ManifestFile(Batch[2].File.Path, 300)));
    }
}
