using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Portal.Tests.Mail;

/// <summary>The hourly sending limit of a mailbox: a sliding hour, messages and recipients, each mailbox on its own.</summary>
public sealed class SendingLimitsTests
{
    private static (SendingLimits Limits, SettableClock Clock) Create(int messages, int recipients)
    {
        var settings = new PortalSettings { NodeName = "unit", MailRoot = "/tmp/unit-mail" };
        settings.Mail.SendLimitPerHour = messages;
        settings.Mail.RecipientLimitPerHour = recipients;
        var clock = new SettableClock(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        return (new SendingLimits(Options.Create(settings), clock, NullLogger<SendingLimits>.Instance), clock);
    }

    [Fact]
    public void AfterItsLimit_AMailboxWaits_UntilItsOldestMessageIsAnHourOld()
    {
        var (limits, clock) = Create(messages: 3, recipients: 100);
        Assert.All(Enumerable.Range(0, 3), _ => Assert.Equal("DUNNO", limits.Decide("a@example.test", 1)));
        clock.Now += TimeSpan.FromMinutes(30);
        Assert.StartsWith("450 4.7.1 a@example.test has sent 3 message(s)", limits.Decide("a@example.test", 1));
        Assert.Equal("DUNNO", limits.Decide("b@example.test", 1));
        clock.Now += TimeSpan.FromMinutes(30);
        Assert.Equal("DUNNO", limits.Decide("a@example.test", 1));
    }

    [Fact]
    public void RecipientsCount_AndMailWithoutALogin_IsNotCounted()
    {
        var (limits, _) = Create(messages: 100, recipients: 10);
        Assert.Equal("DUNNO", limits.Decide("a@example.test", 8));
        Assert.StartsWith("450 4.7.1", limits.Decide("a@example.test", 3));
        Assert.Equal("DUNNO", limits.Decide("a@example.test", 2));
        Assert.Equal("DUNNO", limits.Decide(null, 1000));
    }

    /// <summary>
    /// Postfix's policy protocol as the server reads it: requests one after another on one connection (even in one
    /// write), each answered; a request that never ends is cut off at 16 KiB instead of filling memory.
    /// </summary>
    [Fact]
    public async Task ThePolicyServer_AnswersEachRequest_AndClosesOnOneThatNeverEnds()
    {
        var port = FreePort();
        var settings = new PortalSettings { NodeName = "unit", MailRoot = "/tmp/unit-mail" };
        settings.Mail.SendingPolicy = $"127.0.0.1:{port}";
        settings.Mail.SendLimitPerHour = 1;
        var options = Options.Create(settings);
        using var server = new SendingPolicyServer(new SendingLimits(options, new SettableClock(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero)), NullLogger<SendingLimits>.Instance), options, NullLogger<SendingPolicyServer>.Instance);
        await server.StartAsync(CancellationToken.None);
        try
        {
            using var client = await ConnectAsync(port);
            var stream = client.GetStream();
            await stream.WriteAsync("request=smtpd_access_policy\nsasl_username=a@example.test\nrecipient_count=1\n\nrequest=smtpd_access_policy\nsasl_username=a@example.test\n\n"u8.ToArray());
            var answers = await ReadAsync(stream, "\n\n", 2);
            Assert.StartsWith("action=DUNNO\n\naction=450 4.7.1 a@example.test has sent 1 message(s)", answers);

            using var flood = await ConnectAsync(port);
            var line = System.Text.Encoding.ASCII.GetBytes("x=" + new string('y', 20_000));
            await flood.GetStream().WriteAsync(line);
            var buffer = new byte[64];
            int read;
            try
            {
                read = await flood.GetStream().ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (IOException)
            {
                read = 0; // closed with our bytes unread: a reset
            }

            Assert.Equal(0, read);
        }
        finally
        {
            await server.StopAsync(CancellationToken.None);
        }
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<System.Net.Sockets.TcpClient> ConnectAsync(int port)
    {
        for (var attempt = 0; ; attempt++)
        {
            var client = new System.Net.Sockets.TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                return client;
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 50)
            {
                client.Dispose();
                await Task.Delay(100);
            }
        }
    }

    private static async Task<string> ReadAsync(System.Net.Sockets.NetworkStream stream, string separator, int count)
    {
        var text = new System.Text.StringBuilder();
        var buffer = new byte[1024];
        while (System.Text.RegularExpressions.Regex.Matches(text.ToString(), separator).Count < count)
        {
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (read == 0)
            {
                break;
            }

            text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
        }

        return text.ToString();
    }
}
