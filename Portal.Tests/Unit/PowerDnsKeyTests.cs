using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Portal.Tests.Unit;

/// <summary>The PowerDNS API key is read from its file once, and again when the server stops taking it (a rotated key).</summary>
public sealed class PowerDnsKeyTests : IDisposable
{
    private readonly string _keyFile = Path.GetTempFileName();

    [Fact]
    public async Task ARotatedKey_IsReadAgain_WhenTheServerRefusesTheOldOne()
    {
        await File.WriteAllTextAsync(_keyFile, "first-key\n");
        var server = new KeyCheckingServer { Key = "first-key" };
        var publisher = Publisher(server);

        Assert.True((await publisher.CheckAsync(CancellationToken.None)).Up);
        Assert.True((await publisher.CheckAsync(CancellationToken.None)).Up);
        Assert.Equal(["first-key", "first-key"], server.KeysSeen);

        // The key is rotated: the server and the file change, the node is not restarted.
        server.Key = "second-key";
        await File.WriteAllTextAsync(_keyFile, "second-key\n");
        Assert.True((await publisher.CheckAsync(CancellationToken.None)).Up);
        Assert.Equal(["first-key", "first-key", "first-key", "second-key"], server.KeysSeen);
    }

    [Fact]
    public async Task AWrongKey_IsReportedAsSuch_AfterOneFreshRead()
    {
        await File.WriteAllTextAsync(_keyFile, "wrong-key");
        var server = new KeyCheckingServer { Key = "right-key" };

        var (up, detail) = await Publisher(server).CheckAsync(CancellationToken.None);

        Assert.False(up);
        Assert.Contains("check the API key file", detail);
        Assert.Equal(["wrong-key"], server.KeysSeen);
    }

    public void Dispose() => File.Delete(_keyFile);

    private DnsPublisher Publisher(KeyCheckingServer server)
    {
        var settings = new PortalSettings { NodeName = "unit" };
        settings.Dns.PowerDns.ApiUrl = "http://127.0.0.1:1/";
        settings.Dns.PowerDns.ApiKeyFile = _keyFile;
        // CheckAsync talks to the API only: no database, no zones.
        return new DnsPublisher(null!, Options.Create(settings), new Clients(server), null!, NullLogger<DnsPublisher>.Instance);
    }

    private sealed class KeyCheckingServer : HttpMessageHandler
    {
        public string Key { get; set; } = "";

        public List<string> KeysSeen { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var key = request.Headers.GetValues("X-API-Key").Single();
            KeysSeen.Add(key);
            return Task.FromResult(new HttpResponseMessage(key == Key ? HttpStatusCode.OK : HttpStatusCode.Unauthorized));
        }
    }

    private sealed class Clients(HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false);
    }
}
