namespace Portal.Tests.Distribution;

/// <summary>
/// An account's mailboxes as a mail client would compare them before and after a move: each message file's name
/// (which carries its flags), size and hash, per mailbox.
/// </summary>
internal sealed class MailSnapshots(IReadOnlyDictionary<string, SortedDictionary<string, (long Size, string Sha256)>> mailboxes)
{
    public IReadOnlyDictionary<string, SortedDictionary<string, (long Size, string Sha256)>> Mailboxes { get; } = mailboxes;

    /// <summary>The mailboxes (local part → maildir) as they are now.</summary>
    public static MailSnapshots Of(IReadOnlyDictionary<string, string> maildirs) =>
        new(maildirs.ToDictionary(m => m.Key, m => MailGenerator.Snapshot(m.Value)));

    /// <summary>Every mailbox is under <paramref name="mailRoot"/>/<paramref name="domain"/>, message for message as it was.</summary>
    public void AssertSameAt(string mailRoot, string domain)
    {
        foreach (var (local, snapshot) in Mailboxes)
        {
            Assert.Equal(snapshot, MailGenerator.Snapshot(Path.Combine(mailRoot, domain, local)));
        }
    }

    /// <summary>Every mailbox is still in its maildir as it was (a source keeps its copy; a stopped move left it).</summary>
    public void AssertSameAt(IReadOnlyDictionary<string, string> maildirs)
    {
        foreach (var (local, snapshot) in Mailboxes)
        {
            Assert.Equal(snapshot, MailGenerator.Snapshot(maildirs[local]));
        }
    }
}
