using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Portal.Tests.MailServers;

/// <summary>What the real-server tests do as mail clients: send over SMTP, read over IMAP, keep a steady stream going.</summary>
internal static class MailClients
{
    /// <summary>A plain-text message; its text is its subject unless given.</summary>
    public static MimeMessage Message(string from, string to, string subject, string? text = null)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = text ?? subject };
        return message;
    }

    /// <summary>Sends on port 25, again while the server answers "try later"; a refusal for good is thrown (<see cref="SmtpCommandException"/>).</summary>
    public static Task SendAsync(string host, string to, string subject) =>
        SendAsync(host, Message("sender@example.org", to, subject, $"{subject}, sent at {DateTimeOffset.UtcNow:O}"));

    /// <summary>As <see cref="SendAsync(string, string, string)"/>; null when the message was taken, else the status with which its recipient was refused for good.</summary>
    public static async Task<int?> TrySendAsync(string host, MimeMessage message)
    {
        try
        {
            await SendAsync(host, message);
            return null;
        }
        catch (SmtpCommandException ex) when (ex.ErrorCode == SmtpErrorCode.RecipientNotAccepted && (int)ex.StatusCode >= 500)
        {
            return (int)ex.StatusCode;
        }
    }

    /// <summary>Sends a message on port 25, again while the server answers "try later" (4xx: a switch under way, a limit).</summary>
    private static async Task SendAsync(string host, MimeMessage message)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var smtp = new SmtpClient();
            await smtp.ConnectAsync(host, 25, SecureSocketOptions.None);
            try
            {
                await smtp.SendAsync(message);
                await smtp.DisconnectAsync(true);
                return;
            }
            catch (SmtpCommandException ex) when ((int)ex.StatusCode is >= 400 and < 500 && attempt < 20)
            {
                await Task.Delay(500);
            }
        }
    }

    public static async Task<ImapClient> ImapAsync(string host, string user, string password)
    {
        var imap = new ImapClient();
        try
        {
            await imap.ConnectAsync(host, 143, SecureSocketOptions.None);
            await imap.AuthenticateAsync(user, password);
            return imap;
        }
        catch
        {
            imap.Dispose();
            throw;
        }
    }

    public static async Task<List<string>> ImapSubjectsAsync(string host, string user, string password)
    {
        using var imap = await ImapAsync(host, user, password);
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var subjects = imap.Inbox.Count == 0 ? [] : (await imap.Inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope)).Select(m => m.Envelope?.Subject ?? "").ToList();
        await imap.DisconnectAsync(true);
        return subjects;
    }

    /// <summary>
    /// Four senders, each sending one message after another (its own SMTP session each, about 40 a second in all here:
    /// a steady stream the parent's Postfix keeps up with), until stopped; each message's subject is its own.
    /// </summary>
    public static (List<Task> Senders, List<string> Sent) SteadyStream(string host, string to, string prefix, CancellationToken stop)
    {
        var sent = new List<string>();
        var senders = Enumerable.Range(0, 4).Select(s => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var subject = $"{prefix}-{s}-{i:D5}";
                await SendAsync(host, to, subject);
                lock (sent)
                {
                    sent.Add(subject);
                }

                await Task.Delay(50, CancellationToken.None);
            }
        })).ToList();
        return (senders, sent);
    }

    /// <summary>Mail delivery takes a moment: asks again until the condition holds (or returns what it last saw).</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(20));
        var last = await probe();
        while (!condition(last) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            last = await probe();
        }

        return last;
    }
}
