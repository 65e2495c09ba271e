using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Portal.Tests.Nodes;

/// <summary>
/// What a child says about itself is untrusted: a public address that is not one plain IPv4 address (it would be
/// written into the transport map, the proxy entries and the zones) makes its health check fail instead of being
/// taken, and a reply larger than any the node API gives is not read.
/// </summary>
[Collection(PortalAppCollection.Name)]
public sealed class NodeReportTests(PortalAppFixture app) : IAsyncLifetime
{
    private WebApplication _child = default!;
    private string _reportedAddress = "127.0.0.50";
    private int _padding;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _child = builder.Build();
        _child.MapGet("/node-api/v1/health", () => Results.Json(
            new NodeHealthReport(Guid.Empty, "1.0.0", "Mail", 1, 2, DateTimeOffset.UtcNow, _reportedAddress) with { NodeId = ChildId },
            NodeApiClient.Json));
        _child.MapGet("/node-api/v1/accounts/{username}/mail/configuration", () => Results.Text(
            "{\"addresses\":[],\"forwarders\":[],\"padding\":\"" + new string('x', _padding) + "\"}", "application/json"));
        await _child.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _child.StopAsync();
        await _child.DisposeAsync();
    }

    private static readonly Guid ChildId = Guid.NewGuid();

    private Uri ChildUrl => new(_child.Urls.First() + "/");

    [Fact]
    public async Task AChildReportingAnAddressThatIsNotOnePlainIPv4_IsOffline_AndItsAddressIsNotTaken()
    {
        await LinkAsync();
        var health = app.Services.GetRequiredService<NodeHealthService>();

        var first = await health.CheckNowAsync(PortalAppFixture.Admin, ChildId);
        _reportedAddress = "127.0.0.50 nopassword=y";
        var second = await health.CheckNowAsync(PortalAppFixture.Admin, ChildId);

        Assert.Equal("Online", first.Status.ToString());
        Assert.Equal("Offline", second.Status.ToString());
        Assert.Contains("as its public IPv4 address; Portal refuses it", second.LastError, StringComparison.Ordinal);
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        Assert.Equal("127.0.0.50", await db.LinkedNodes.Where(n => n.Id == ChildId).Select(n => n.PublicIPv4).SingleAsync());
    }

    [Fact]
    public async Task AReplyLargerThanTheNodeApiGives_IsNotRead()
    {
        _padding = (int)NodeApiClient.MaxReplyBytes + 1024;
        var client = app.Services.GetRequiredService<INodeApiClientFactory>().Create(new NodeEndpoint(ChildUrl, "admin", "pnt_fake", VerifyTls: false));

        var refused = await Assert.ThrowsAsync<NodeRequestException>(() => client.ExportMailConfigurationAsync("anyone", CancellationToken.None));

        Assert.Equal("node.reply_too_large", refused.Code);
        _padding = 10;
        Assert.Empty((await client.ExportMailConfigurationAsync("anyone", CancellationToken.None)).Addresses);
    }

    private async Task LinkAsync()
    {
        var protector = app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("Portal.LinkedNodes.Token.v1");
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        if (await db.LinkedNodes.AnyAsync(n => n.Id == ChildId))
        {
            return;
        }

        db.LinkedNodes.Add(new LinkedNode
        {
            Id = ChildId, Alias = "reporter" + Guid.NewGuid().ToString("N")[..6], BaseUrl = ChildUrl.ToString(), AdminUserName = "admin",
            ProtectedToken = protector.Protect("pnt_fake"), Purpose = LinkPurpose.Mail, Name = "reporter", Version = "1.0.0",
            LinkedBy = "test", LinkedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
    }
}
