using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.DataProtection;

namespace Portal.Tests.Mail;

/// <summary>
/// The parent's calls to a child on an owner's behalf never hang a page: a child that does not answer gives 504 after
/// the proxy timeout, one that answers garbage gives 502, and after three failures in a row the parent stops asking.
/// </summary>
[Collection(PortalAppCollection.Name)]
public sealed class MailProxyTests(PortalAppFixture app)
{
    [Fact]
    public async Task AChildThatHangs_GivesATimeout_AndThenTheCircuitOpens()
    {
        using var child = new FakeChild(respond: false);
        var username = await DistributedAccountOnAsync(child.Url);
        var functions = app.Services.GetRequiredService<MailFunctions>();

        var watch = Stopwatch.StartNew();
        var timedOut = await Assert.ThrowsAsync<PortalUpstreamException>(() => functions.ListAsync(PortalAppFixture.Admin, username));
        Assert.True(timedOut.TimedOut);
        Assert.Equal("mail.node_timeout", timedOut.Code);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(8));

        await Assert.ThrowsAsync<PortalUpstreamException>(() => functions.ListForwardersAsync(PortalAppFixture.Admin, username));
        await Assert.ThrowsAsync<PortalUpstreamException>(() => functions.ListAsync(PortalAppFixture.Admin, username));
        watch.Restart();
        var open = await Assert.ThrowsAsync<PortalUpstreamException>(() => functions.ListAsync(PortalAppFixture.Admin, username));
        Assert.Equal("mail.node_unavailable", open.Code);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), "an open circuit answers at once");
        Assert.Contains("stops asking it", open.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AChildThatAnswersGarbage_GivesABadGateway_ThroughTheApi()
    {
        using var child = new FakeChild(respond: true);
        var username = await DistributedAccountOnAsync(child.Url);
        using var client = app.CreateClient();
        string token;
        await using (var db = TestDatabases.OpenContext(app.ConnectionString))
        {
            var admin = db.Users.Single(u => u.UserName == PortalAppFixture.AdminUserName);
            (var row, token) = ApiTokenService.Mint(ApiTokenKind.User, "proxy-test", admin.Id, admin.UserName!, DateTimeOffset.UtcNow, null);
            db.ApiTokens.Add(row);
            await db.SaveChangesAsync();
        }

        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        var response = await client.GetAsync($"/api/v1/accounts/{username}/mail/addresses");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("node.unavailable", error.GetProperty("code").GetString());
        Assert.Contains("not Portal's node API", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A child whose own code is not to be trusted reports mail usage that does not add up (or names an account twice,
    /// or a mailbox Portal would never name): the parent refuses the whole report, says so, and the account keeps what
    /// was measured before.
    /// </summary>
    [Theory]
    [InlineData("{{\"accounts\":[{{\"username\":\"{0}\",\"bytes\":5,\"mailboxes\":[{{\"localPart\":\"a\",\"bytes\":999,\"messages\":1,\"quotaBytes\":0}}]}}]}}")]
    [InlineData("{{\"accounts\":[{{\"username\":\"{0}\",\"bytes\":0,\"mailboxes\":[]}},{{\"username\":\"{0}\",\"bytes\":0,\"mailboxes\":[]}}]}}")]
    [InlineData("{{\"accounts\":[{{\"username\":\"{0}\",\"bytes\":1,\"mailboxes\":[{{\"localPart\":\"../other/ceo\",\"bytes\":1,\"messages\":1,\"quotaBytes\":0}}]}}]}}")]
    public async Task AMailUsageReportThatIsNotBelievable_IsRefusedWhole_AndTheAccountKeepsItsMeasurement(string report)
    {
        var username = "";
        using var child = new FakeChild(respond: true, () => string.Format(System.Globalization.CultureInfo.InvariantCulture, report, username));
        username = await DistributedAccountOnAsync(child.Url);
        await using (var db = TestDatabases.OpenContext(app.ConnectionString))
        {
            await db.Accounts.Where(a => a.Username == username).ExecuteUpdateAsync(u => u.SetProperty(a => a.DiskUsageBytes, 1234));
        }

        var summary = await app.Services.GetRequiredService<MailUsageService>().RefreshAsync();

        Assert.Contains(summary.Problems, p => p.StartsWith($"fake-{username} reported mail usage Portal does not believe", StringComparison.Ordinal));
        await using var check = TestDatabases.OpenContext(app.ConnectionString);
        Assert.Equal(1234, (await check.Accounts.SingleAsync(a => a.Username == username)).DiskUsageBytes);
    }

    /// <summary>An account whose mail node is linked at <paramref name="url"/> (a fake child), straight in the database.</summary>
    private async Task<string> DistributedAccountOnAsync(string url)
    {
        var protector = app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("Portal.LinkedNodes.Token.v1");
        var username = "px" + Guid.NewGuid().ToString("N")[..8];
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        var node = new LinkedNode
        {
            Id = Guid.NewGuid(), Alias = "fake-" + username, BaseUrl = url, AdminUserName = "admin", ProtectedToken = protector.Protect("pnt_fake"),
            Purpose = LinkPurpose.Mail, Name = "fake", Version = "1.0.0", LinkedBy = "test", LinkedAt = DateTimeOffset.UtcNow,
        };
        db.LinkedNodes.Add(node);
        db.Accounts.Add(new Account
        {
            Username = username, Domain = $"{username}.example.test", ContactEmail = "o@example.test", OwnerName = "root",
            MailNodeId = node.Id, MailNodeAlias = node.Alias, CreatedAt = DateTimeOffset.UtcNow, Features = [.. AccountFeatures.All],
        });
        await db.SaveChangesAsync();
        return username;
    }

    /// <summary>A "child" that accepts connections and then says nothing, or answers a web page instead of the node API.</summary>
    private sealed class FakeChild : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<TcpClient> _held = [];

        public FakeChild(bool respond, Func<string>? json = null)
        {
            _listener.Start();
            Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    TcpClient client;
                    try
                    {
                        client = await _listener.AcceptTcpClientAsync();
                    }
                    catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                    {
                        return;
                    }

                    lock (_held)
                    {
                        _held.Add(client);
                    }

                    if (respond)
                    {
                        var stream = client.GetStream();
                        var buffer = new byte[8192];
                        _ = await stream.ReadAsync(buffer);
                        var page = json?.Invoke() ?? "<html><body>Welcome to nginx!</body></html>";
                        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {page.Length}\r\nConnection: close\r\n\r\n{page}"));
                        client.Close();
                    }
                }
            });
        }

        public string Url { get; }

        public void Dispose()
        {
            _listener.Stop();
            lock (_held)
            {
                _held.ForEach(c => c.Dispose());
            }
        }
    }
}
