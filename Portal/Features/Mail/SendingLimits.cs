using System.Collections.Concurrent;

namespace Portal.Features.Mail;

/// <summary>
/// How much one mailbox may send through this node in an hour: Postfix's submission services ask at the end of each
/// message (<c>check_policy_service</c> in <c>smtpd_end_of_data_restrictions</c>), so a mailbox whose password was
/// stolen cannot send spam by the thousand. Counted per SMTP AUTH login over the last hour, in memory (a restart
/// starts the count again).
/// </summary>
public sealed class SendingLimits(IOptions<PortalSettings> settings, TimeProvider clock, ILogger<SendingLimits> logger)
{
    private readonly ConcurrentDictionary<string, Queue<(DateTimeOffset At, int Recipients)>> _sent = new(StringComparer.OrdinalIgnoreCase);

    private static readonly TimeSpan Window = TimeSpan.FromHours(1);

    /// <summary>
    /// Postfix's answer for one message: <c>DUNNO</c> (go on, and it is counted), or a temporary refusal that says
    /// why (the client keeps the message and tries again later, so nothing is lost).
    /// </summary>
    public string Decide(string? login, int recipients)
    {
        if (string.IsNullOrEmpty(login))
        {
            return "DUNNO"; // not a submission: port 25's own rules apply
        }

        var (messageLimit, recipientLimit) = (settings.Value.Mail.SendLimitPerHour, settings.Value.Mail.RecipientLimitPerHour);
        var now = clock.GetUtcNow();
        var sent = _sent.GetOrAdd(login, _ => new Queue<(DateTimeOffset, int)>());
        lock (sent)
        {
            while (sent.Count > 0 && now - sent.Peek().At >= Window)
            {
                sent.Dequeue();
            }

            var recipientsSent = sent.Sum(s => s.Recipients);
            if (sent.Count + 1 > messageLimit || recipientsSent + Math.Max(1, recipients) > recipientLimit)
            {
                logger.LogWarning("{Login} reached its sending limit ({Messages} messages to {Recipients} recipients in the last hour); further mail is deferred",
                    login, sent.Count, recipientsSent);
                return $"450 4.7.1 {login} has sent {sent.Count} message(s) to {recipientsSent} recipient(s) in the last hour, as much as this server allows " +
                    $"({messageLimit} messages, {recipientLimit} recipients); the message is kept by your mail program and can be sent later";
            }

            sent.Enqueue((now, Math.Max(1, recipients)));
            return "DUNNO";
        }
    }
}
