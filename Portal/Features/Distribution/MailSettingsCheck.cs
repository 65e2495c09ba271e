namespace Portal.Features.Distribution;

/// <summary>
/// A move checks the mail settings (mailboxes, autoresponders and filters, forwarders) on the node they went to as it
/// checks the messages: read back and compared with what was sent, before anything switches.
/// </summary>
public static class MailSettingsCheck
{
    public static void EnsureKept(MailConfiguration sent, MailConfiguration kept, string node)
    {
        if (MailRules.Differences(sent, kept) is { Count: > 0 } differences)
        {
            throw new InvalidOperationException(
                $"{node} does not keep the mail settings it was sent ({string.Join("; ", differences)}); nothing has switched. Retry the move; if it goes on, check {node}.");
        }
    }
}
