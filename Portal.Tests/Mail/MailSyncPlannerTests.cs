namespace Portal.Tests.Mail;

/// <summary>
/// The plan of a pass. Before a switch it mirrors the sender; after it (with the receiver's baseline from just before
/// the switch) what arrived or changed on the receiver since is left alone: real servers deliver there from the switch on.
/// </summary>
public sealed class MailSyncPlannerTests
{
    private static readonly Dictionary<string, IReadOnlyList<MailFile>> Sender = new()
    {
        ["alice"] = [new("cur/1000.a:2,S", 10), new("new/1001.b", 11)],
    };

    // The receiver got 1000.a, 1001.b and 999.z (deleted on the sender since) before the switch; after it, 2000.n
    // arrived and the owner read 1001.b there (new -> cur with the Seen flag).
    private static readonly MailManifest Receiver = Manifest(("cur/1000.a:2,", 10), ("cur/1001.b:2,S", 11), ("new/999.z", 9), ("new/2000.n", 12));
    private static readonly MailManifest Baseline = Manifest(("cur/1000.a:2,", 0), ("new/1001.b", 0), ("new/999.z", 0));

    [Fact]
    public void BeforeTheSwitch_ThePlanMirrorsTheSender()
    {
        var plan = MailSyncPlanner.Plan(Sender, Receiver);

        Assert.Equal(["new/2000.n", "new/999.z"], plan.Changes.Deletions.Select(d => d.Path).Order(StringComparer.Ordinal));
        Assert.Equal(2, plan.Changes.Renames.Count);
    }

    [Fact]
    public void AfterTheSwitch_NewMailAndTheOwnersChangesOnTheReceiverStay_WhatTheSenderDeletedGoes()
    {
        var plan = MailSyncPlanner.Plan(Sender, Receiver, Baseline);

        Assert.Equal(["new/999.z"], plan.Changes.Deletions.Select(d => d.Path));
        var rename = Assert.Single(plan.Changes.Renames);
        Assert.Equal(("cur/1000.a:2,", "cur/1000.a:2,S"), (rename.From, rename.To));
        Assert.Empty(plan.Copies);
    }

    /// <summary>
    /// A dedistribution's archive is made while the child keeps serving: a message moved to Trash meanwhile can be in
    /// it twice (INBOX and Trash). The final pass keeps it once, where the sender has it, and removes the other copy.
    /// </summary>
    [Fact]
    public void AMessageTheReceiverHoldsTwice_IsKeptOnceWhereTheSenderHasIt()
    {
        var sender = new Dictionary<string, IReadOnlyList<MailFile>> { ["alice"] = [new(".Trash/cur/1000.a:2,S", 10), new("cur/1001.b:2,", 11)] };
        var receiver = Manifest(("cur/1000.a:2,S", 10), (".Trash/cur/1000.a:2,S", 10), ("cur/1001.b:2,", 11), ("cur/1001.b:2,S", 11));
        var baseline = Manifest(("cur/1000.a:2,S", 0), (".Trash/cur/1000.a:2,S", 0), ("cur/1001.b:2,", 0), ("cur/1001.b:2,S", 0));

        var plan = MailSyncPlanner.Plan(sender, receiver, baseline);

        Assert.Empty(plan.Copies);
        Assert.Empty(plan.Changes.Renames);
        Assert.Equal(["cur/1000.a:2,S", "cur/1001.b:2,S"], plan.Changes.Deletions.Select(d => d.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Verification_SaysWhichMessagesTheReceiverHoldsMoreOftenThanTheSender()
    {
        var sender = Manifest(("cur/1000.a:2,S", 10), ("cur/1001.b:2,", 11));
        var receiver = Manifest(("cur/1000.a:2,S", 10), (".Trash/cur/1000.a:2,S", 10), ("cur/1001.b:2,", 11), ("new/2000.n", 12));

        var line = Assert.Single(MailVerification.Doubled(sender, receiver));

        Assert.StartsWith("alice: 1 message(s) are here more often than on the sender", line);
        Assert.Empty(MailVerification.Doubled(sender, Manifest(("cur/1000.a:2,FS", 10), ("cur/1001.b:2,", 11), ("new/2000.n", 12))));
    }

    [Fact]
    public void ACopyTheOwnerChangedOnTheReceiverAfterTheSwitch_IsNeitherRenamedNorCopiedAgain()
    {
        var sender = new Dictionary<string, IReadOnlyList<MailFile>> { ["alice"] = [new("cur/1000.a:2,", 10)] };
        var receiver = Manifest(("cur/1000.a:2,FS", 10));
        var baseline = Manifest(("cur/1000.a:2,", 0));

        var plan = MailSyncPlanner.Plan(sender, receiver, baseline);

        Assert.Empty(plan.Copies);
        Assert.Empty(plan.Changes.Renames);
        Assert.Empty(plan.Changes.Deletions);
    }

    [Fact]
    public void WithoutABaseline_AfterTheSwitch_NothingOnTheReceiverIsDeletedOrRenamed()
    {
        var plan = MailSyncPlanner.Plan(Sender, Receiver, new MailManifest([]));

        Assert.Empty(plan.Changes.Deletions);
        Assert.Empty(plan.Changes.Renames);
    }

    [Fact]
    public void ByPathsAlone_TheSamePlanIsMade_AndSizesAreComparedOnlyWhereBothSidesMeasuredThem()
    {
        var sender = new Dictionary<string, IReadOnlyList<MailFile>>
        {
            ["alice"] = Sender["alice"].Select(f => f with { Size = ManifestFile.UnknownSize }).Append(new MailFile("new/3000.c", ManifestFile.UnknownSize)).ToList(),
        };
        var byPaths = Manifest(Receiver.Mailboxes[0].Files.Select(f => (f.Path, ManifestFile.UnknownSize)).ToArray());

        var plan = MailSyncPlanner.Plan(sender, byPaths, Baseline);

        Assert.Equal(["new/3000.c"], plan.Copies.Select(c => c.File.Path));
        Assert.Equal(["new/999.z"], plan.Changes.Deletions.Select(d => d.Path));
        Assert.Single(plan.Changes.Renames);

        // A receiver's file of another size than the sender's (both measured) is sent again.
        var shorter = Manifest(("cur/1000.a:2,S", 4), ("new/1001.b", 11));
        Assert.Equal(["cur/1000.a:2,S"], MailSyncPlanner.Plan(Sender, shorter).Copies.Select(c => c.File.Path));
    }

    [Fact]
    public void AScanListsPaths_AndMeasuringKeepsTheCopiesStillThereWithTheirSizes()
    {
        using var folder = new TempFolder("portal-plan-");
        var root = folder.Path;
        var mailbox = Maildir.MailboxPath(root, "example.test", "alice");
        Maildir.CreateMailbox(mailbox);
        File.WriteAllText(Path.Combine(mailbox, "cur", "1000.a:2,S"), "twelve bytes");
        File.WriteAllText(Path.Combine(mailbox, "new", "1001.b"), "x");
        var scan = MailSyncPlanner.Scan(root, "example.test", ["alice"]);
        Assert.All(scan["alice"], f => Assert.Equal(ManifestFile.UnknownSize, f.Size));
        Assert.Equal(["cur/1000.a:2,S", "new/1001.b"], scan["alice"].Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.Equal(
            MailReceiver.Manifest(root, "example.test", ["alice"], ManifestDetail.Sizes).Mailboxes[0].Files.Select(f => f.Path),
            MailReceiver.Manifest(root, "example.test", ["alice"], ManifestDetail.Paths).Mailboxes[0].Files.Select(f => f.Path));

        var plan = MailSyncPlanner.Plan(scan, new MailManifest([]));
        File.Delete(Path.Combine(mailbox, "new", "1001.b")); // read and deleted between the scan and the send
        var measured = MailSyncPlanner.Measure(plan, root, "example.test");

        var copy = Assert.Single(measured.Copies);
        Assert.Equal(("cur/1000.a:2,S", 12L), (copy.File.Path, copy.File.Size));
        Assert.Equal(12, measured.CopyBytes);
    }

    private static MailManifest Manifest(params (string Path, long Size)[] files) =>
        new([new MailboxManifest("alice", files.Select(f => new ManifestFile(f.Path, f.Size)).ToArray())]);
}
