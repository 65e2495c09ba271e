using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Portal.Features.Mail;

/// <summary>
/// Postfix's policy delegation protocol on <c>Portal:Mail:SendingPolicy</c> (an address of this host): one request is
/// <c>name=value</c> lines ending with an empty line, the answer <c>action=...</c> and an empty line. A request longer
/// than 16 KiB closes the connection (Postfix then passes over the policy for that message).
/// </summary>
public sealed class SendingPolicyServer(SendingLimits limits, IOptions<PortalSettings> settings, ILogger<SendingPolicyServer> logger) : BackgroundService
{
    private const int MaxRequestBytes = 16 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.Value.Mail.SendingPolicy is not { Length: > 0 } endpoint)
        {
            return;
        }

        var listener = new TcpListener(IPEndPoint.Parse(endpoint));
        try
        {
            listener.Start();
        }
        catch (SocketException ex)
        {
            logger.LogError("The sending-limit policy service could not listen on {Endpoint} ({Error}); Postfix then passes mail over it", endpoint, ex.Message);
            return;
        }

        logger.LogInformation("Sending limits answered on {Endpoint}", endpoint);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(stoppingToken);
                _ = Task.Run(() => ServeAsync(client, stoppingToken), stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            listener.Stop();
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var buffer = new byte[MaxRequestBytes];
            var filled = 0;
            while (true)
            {
                // One request is read whole (at most MaxRequestBytes, or the connection is closed): name=value lines up
                // to an empty line. Postfix keeps the connection for its next request.
                var end = buffer.AsSpan(0, filled).IndexOf("\n\n"u8);
                if (end < 0)
                {
                    if (filled == buffer.Length)
                    {
                        return;
                    }

                    var read = await stream.ReadAsync(buffer.AsMemory(filled), ct);
                    if (read == 0)
                    {
                        return;
                    }

                    filled += read;
                    continue;
                }

                var request = Encoding.ASCII.GetString(buffer, 0, end).Split('\n')
                    .Select(line => line.Split('=', 2)).Where(kv => kv.Length == 2)
                    .GroupBy(kv => kv[0], StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);
                buffer.AsSpan(end + 2, filled - end - 2).CopyTo(buffer);
                filled -= end + 2;
                request.TryGetValue("sasl_username", out var login);
                var recipients = request.TryGetValue("recipient_count", out var count) && int.TryParse(count, out var n) ? n : 1;
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"action={limits.Decide(login, recipients)}\n\n"), ct);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            // Postfix closed the connection, or the node is stopping.
        }
    }
}
