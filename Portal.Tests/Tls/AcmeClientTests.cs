using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;

namespace Portal.Tests.Tls;

/// <summary>
/// Pebble, Let's Encrypt's test ACME server, on this machine (<c>scripts/acme-test-ca</c>), with its mock DNS server
/// (pebble-challtestsrv) as the authoritative server it checks DNS-01 records against.
/// </summary>
public sealed class PebbleFixture : IAsyncLifetime
{
    public const string Address = "127.0.0.50";

    public string Folder { get; } = Path.Combine(TestEnvironment.RunFolder, "acme-test-ca");

    public Uri Directory { get; } = new($"https://{Address}:14000/dir");

    /// <summary>The roots Pebble signs with (new at each start): only the tests' clients trust them.</summary>
    public string RootPem => File.ReadAllText(Path.Combine(Folder, "root.pem"));

    /// <summary>An HTTP client for the ACME directory, trusting Pebble's own listener only.</summary>
    public HttpClient NewHttpClient() => new(TlsTrust.HandlerTrusting(File.ReadAllText(Path.Combine(Folder, "listener.pem"))));

    public async Task InitializeAsync()
    {
        var started = await Shell.RunAsync(Script, ["start", Folder, Address], timeout: TimeSpan.FromMinutes(1));
        Assert.True(started.ExitCode == 0, started.ToString());
    }

    public async Task DisposeAsync() => await Shell.RunAsync(Script, ["stop", Folder], timeout: TimeSpan.FromMinutes(1));

    private static string Script => Path.Combine(TestEnvironment.RepositoryRoot, "scripts", "acme-test-ca");
}

/// <summary>
/// The ACME client against a real ACME server: a certificate for several names through DNS-01, whose chain verifies
/// against the CA's root for each name; a challenge answered wrongly is refused naming the name; and every record the
/// client published is removed again, whatever the outcome.
/// </summary>
[Trait("Category", "Acme")]
public sealed class AcmeClientTests(PebbleFixture pebble) : IClassFixture<PebbleFixture>
{
    [Fact]
    public async Task ACertificateForSeveralNames_IsIssuedThroughDnsChallenges_AndChainsToTheCasRoot()
    {
        using var http = pebble.NewHttpClient();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var client = new AcmeClient(http, pebble.Directory, key, NullLogger<AcmeClient>.Instance);
        var zone = new MockDnsZone(http);
        var steps = new List<AcmeProgress>();
        string[] names = ["shop.example.test", "mail.shop.example.test", "webmail.shop.example.test"];

        var issued = await client.IssueAsync(names, zone, new SynchronousProgress<AcmeProgress>(steps.Add), CancellationToken.None);

        using var leaf = X509Certificate2.CreateFromPem(issued.ChainPem);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(issued.ChainPem);
        Assert.True(TlsTrust.ChainsTo(leaf, pebble.RootPem, chain), "the certificate does not chain to Pebble's root");
        foreach (var name in names)
        {
            Assert.True(leaf.MatchesHostname(name), $"the certificate is not valid for {name}");
        }

        Assert.False(leaf.MatchesHostname("other.example.test"));
        Assert.Equal(new DateTimeOffset(leaf.NotAfter.ToUniversalTime()), issued.NotAfter);
        Assert.True(issued.NotAfter > DateTimeOffset.UtcNow.AddDays(1), $"valid until {issued.NotAfter:O} only");
        // The key returned is the certificate's.
        using var certificateKey = ECDsa.Create();
        certificateKey.ImportFromPem(issued.PrivateKeyPem);
        Assert.Equal(leaf.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfo(), certificateKey.ExportSubjectPublicKeyInfo());
        // One record per name, each removed again; the progress named each name.
        Assert.Equal(names.Select(n => "_acme-challenge." + n).Order(), zone.Published.Select(p => p.Name).Order());
        Assert.Equal(zone.Published, zone.Removed);
        Assert.All(names, n => Assert.Contains(steps, s => s.Step.Contains(n, StringComparison.Ordinal)));

        // The same account key is the same account: a second certificate needs no new registration.
        var again = await client.IssueAsync(["www.shop.example.test"], zone, null, CancellationToken.None);
        Assert.Contains("www.shop.example.test", again.Names);
    }

    [Fact]
    public async Task AChallengeAnsweredWrongly_IsRefusedNamingTheName_AndItsRecordIsRemoved()
    {
        using var http = pebble.NewHttpClient();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var client = new AcmeClient(http, pebble.Directory, key, NullLogger<AcmeClient>.Instance);
        var zone = new MockDnsZone(http, wrongValueFor: "_acme-challenge.bad.example.test");

        var refused = await Assert.ThrowsAsync<AcmeException>(() => client.IssueAsync(["good.example.test", "bad.example.test"], zone, null, CancellationToken.None));

        Assert.Equal("bad.example.test", refused.Name);
        Assert.EndsWith(":unauthorized", refused.Type);
        Assert.Contains("bad.example.test", refused.Message);
        Assert.Equal(2, zone.Published.Count);
        Assert.Equal(zone.Published, zone.Removed);
    }

    /// <summary>The TXT records through pebble-challtestsrv's API; records what was published and removed.</summary>
    private sealed class MockDnsZone(HttpClient http, string? wrongValueFor = null) : IDnsChallengeZone
    {
        public List<(string Name, string Value)> Published { get; } = [];

        public List<(string Name, string Value)> Removed { get; } = [];

        public async Task PublishAsync(string name, string value, CancellationToken ct)
        {
            var served = name == wrongValueFor ? AcmeClient.Base64Url(SHA256.HashData("not the key authorization"u8.ToArray())) : value;
            (await http.PostAsJsonAsync($"http://{PebbleFixture.Address}:8055/set-txt", new { host = name + ".", value = served }, ct)).EnsureSuccessStatusCode();
            Published.Add((name, value));
        }

        public async Task RemoveAsync(string name, string value, CancellationToken ct)
        {
            (await http.PostAsJsonAsync($"http://{PebbleFixture.Address}:8055/clear-txt", new { host = name + "." }, ct)).EnsureSuccessStatusCode();
            Removed.Add((name, value));
        }
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>
/// The certificate authority is input too: one that asks to prove a name that was not ordered (another tenant's
/// domain) gets no record published for it. A stand-in server in the test process, answering just enough of RFC 8555.
/// </summary>
public sealed class AcmeClientRefusalTests
{
    [Fact]
    public async Task AServerAskingToProveANameThatWasNotOrdered_IsRefused_AndNothingIsPublished()
    {
        using var http = new HttpClient(new NameSwappingCa());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var client = new AcmeClient(http, new Uri("https://ca.test/dir"), key, NullLogger<AcmeClient>.Instance);
        var zone = new RecordingZone();

        var refused = await Assert.ThrowsAsync<AcmeException>(() => client.IssueAsync(["mine.example.test"], zone, null, CancellationToken.None));

        Assert.Contains("asked to prove victim.example.test, which was not ordered", refused.Message);
        Assert.Empty(zone.Published);
    }

    private sealed class RecordingZone : IDnsChallengeZone
    {
        public List<string> Published { get; } = [];

        public Task PublishAsync(string name, string value, CancellationToken ct)
        {
            Published.Add(name);
            return Task.CompletedTask;
        }

        public Task RemoveAsync(string name, string value, CancellationToken ct) => Task.CompletedTask;
    }

    /// <summary>Orders anything, then names another domain in the order's authorization.</summary>
    private sealed class NameSwappingCa : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            var (status, body, location) = path switch
            {
                "/dir" => (HttpStatusCode.OK, """{"newNonce":"https://ca.test/nonce","newAccount":"https://ca.test/account","newOrder":"https://ca.test/order"}""", null),
                "/nonce" => (HttpStatusCode.OK, "", null),
                "/account" => (HttpStatusCode.Created, """{"status":"valid"}""", "https://ca.test/account/1"),
                "/order" => (HttpStatusCode.Created, """{"status":"pending","authorizations":["https://ca.test/authz/1"],"finalize":"https://ca.test/finalize"}""", "https://ca.test/order/1"),
                "/authz/1" => (HttpStatusCode.OK, """{"status":"pending","identifier":{"type":"dns","value":"victim.example.test"},"challenges":[{"type":"dns-01","url":"https://ca.test/challenge/1","token":"abc"}]}""", null),
                _ => (HttpStatusCode.NotFound, """{"type":"urn:ietf:params:acme:error:malformed","detail":"unexpected"}""", (string?)null),
            };
            var response = new HttpResponseMessage(status) { Content = new StringContent(body) };
            response.Headers.Add("Replay-Nonce", "nonce-" + Guid.NewGuid().ToString("N"));
            if (location is not null)
            {
                response.Headers.Location = new Uri(location);
            }

            return Task.FromResult(response);
        }
    }
}
