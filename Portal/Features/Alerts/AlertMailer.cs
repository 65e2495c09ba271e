namespace Portal.Features.Alerts;

/// <summary>Sends alert emails through the SMTP server of <c>Portal:Alerts</c> (the node's own Postfix); a failure is logged, never thrown.</summary>
public sealed class AlertMailer(IOptions<PortalSettings> settings, ILogger<AlertMailer> logger)
{
    public async Task<bool> SendAsync(IReadOnlyList<string> admins, string subject, string text, CancellationToken ct)
    {
        var alerts = settings.Value.Alerts;
        var recipients = admins.Concat(alerts.EmailTo).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (alerts.SmtpServer is not { Length: > 0 } server || recipients.Count == 0
            || !PortalSettingsValidator.TryHostPort(server, out var host, out var port))
        {
            return false;
        }

        var message = new MimeKit.MimeMessage();
        message.From.Add(MimeKit.MailboxAddress.Parse(alerts.From is { Length: > 0 } from ? from : $"portal@{System.Net.Dns.GetHostName()}"));
        message.To.AddRange(recipients.Select(MimeKit.MailboxAddress.Parse));
        message.Subject = $"[Portal {settings.Value.NodeName}] {subject}";
        message.Body = new MimeKit.TextPart("plain") { Text = $"{text}\n\nNode: {settings.Value.NodeName} {settings.Value.PublicUrl}\n" };
        try
        {
            using var smtp = new MailKit.Net.Smtp.SmtpClient { Timeout = 15_000 };
            await smtp.ConnectAsync(host.Trim('[', ']'), port, MailKit.Security.SecureSocketOptions.None, ct);
            await smtp.SendAsync(message, ct);
            await smtp.DisconnectAsync(quit: true, ct);
            return true;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or MailKit.ProtocolException or MailKit.CommandException or TimeoutException)
        {
            logger.LogWarning("The alert email \"{Subject}\" could not be sent through {Server}: {Error}", subject, server, ex.Message);
            return false;
        }
    }
}
