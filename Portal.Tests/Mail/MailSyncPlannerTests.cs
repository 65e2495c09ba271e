using Portal.Jobs.Mail;

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

    [Fact]
    public void WithoutABaseline_AfterTheSwitch_NothingOnTheReceiverIsDeletedOrRenamed()
    {
        var plan = MailSyncPlanner.Plan(Sender, Receiver, new MailManifest([]));

        Assert.Empty(plan.Changes.Deletions);
        Assert.Empty(plan.Changes.Renames);
    }

    private static MailManifest Manifest(params (string Path, long Size)[] files) =>
        new([new MailboxManifest("alice", files.Select(f => new ManifestFile(f.Path, f.Size)).ToArray())]);
}
