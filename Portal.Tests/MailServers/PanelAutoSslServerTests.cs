using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Portal.Tests.MailServers;

/// <summary>
/// A child's panel over HTTPS with a certificate from its parent's AutoSSL: the child asks for its host name (its
/// health report), the parent's DNS answers it in the nodes' zone, Pebble checks the DNS-01 record there, and the
/// certificate the child then serves chains to Pebble's root (intermediate sent) and names the host.
/// </summary>
[Collection(MailServersCollection.Name)]
[Trait("Category", "MailServers")]
public sealed class PanelAutoSslServerTests(MailServersFixture servers) : IDisposable
{
    private const string ChildAddress = "127.0.0.28";
    private readonly TempFolder _temp = new("portal-panel-autossl-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task AChildsPanel_ServesTheCertificateItsParentsAutoSslIssuedForItsHost_ProvedInTheNodesZone()
    {
        var host = $"panel-{Guid.NewGuid().ToString("N")[..6]}.{MailServersFixture.NodesZone}";
        var httpsPort = PortalNode.FreePort();
        var (certificateFile, keyFile) = (Path.Combine(_temp.Path, "tls", "panel.pem"), Path.Combine(_temp.Path, "tls", "panel.key"));
        await using var child = await PortalNode.StartAsync("mpanel", new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{{port}};https://127.0.0.1:{httpsPort}",
            ["Portal:PublicUrl"] = $"https://{host}:{httpsPort}",
            ["Portal:Tls:CertificateFromAutoSsl"] = "true",
            ["Portal:Tls:CertificateFile"] = certificateFile,
            ["Portal:Tls:KeyFile"] = keyFile,
            ["Portal:Dns:PublicIPv4"] = ChildAddress,
        });

        // Before its parent sent one, the child serves a self-signed certificate for its host.
        var before = await PresentedAsync(httpsPort, host);
        Assert.False(before.Trusted);
        Assert.Equal(before.Subject, before.Issuer);

        // Linked over HTTPS by a name that reaches it (the self-signed certificate not verified, as an admin would choose for a new node).
        using var childApi = new PortalApi(new Uri($"https://127.0.0.1:{httpsPort}/"), File.ReadAllText(child.AdminApiTokenFile).Trim(), acceptAnyCertificate: true);
        var token = (await childApi.PostAsync("api/v1/node-tokens", new { name = "parent" })).Expect(HttpStatusCode.Created).Field("secret");
        var id = (await LinkedNodesFixture.LinkAsync(servers.Parent, child, "panel-1", token, $"https://localhost:{httpsPort}/")).Expect(HttpStatusCode.Created)
            .Body.GetProperty("node").GetProperty("id").GetString()!;
        try
        {
            (await servers.Parent.Api.PostAsync($"api/v1/linked-nodes/{id}/check")).Expect(HttpStatusCode.OK);
            var listed = (await servers.Parent.Api.GetAsync("api/v1/ssl/hosts")).Expect(HttpStatusCode.OK).Body.EnumerateArray()
                .Single(h => h.GetProperty("hostName").GetString() == host);
            Assert.Equal(("panel-1", "Pending"), (listed.GetProperty("node").GetString(), listed.GetProperty("state").GetString()));

            var run = (await servers.Parent.Api.PostAsync($"api/v1/ssl/run?host={host}")).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
            var end = await servers.Parent.Api.WaitOperationAsync(run, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed", TimeSpan.FromMinutes(2));
            var log = (await servers.Parent.Api.GetAsync($"api/v1/operations/{run}/log")).Text;
            Assert.True(end.GetProperty("state").GetString() == "Succeeded", $"{end}\n{log}");
            Assert.Contains($"panel-1 serves its panel at {host} with its new certificate.", log);

            // The parent's DNS answers the child's host with the address the child reported.
            var answer = await Shell.RunAsync("dig", [$"@{MailServersFixture.ParentAddress}", "+short", "A", host], timeout: TimeSpan.FromSeconds(20));
            Assert.Equal(ChildAddress, answer.Output.Trim());

            // Within the panel's next check of its files, a browser asking for the host gets a certificate it can trust.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            var after = await PresentedAsync(httpsPort, host);
            while (!after.Trusted && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
                after = await PresentedAsync(httpsPort, host);
            }

            Assert.True(after.Trusted, $"the child presented {after.Subject} issued by {after.Issuer}");
            Assert.Contains("Pebble", after.Issuer);
            var row = (await servers.Parent.Api.GetAsync("api/v1/ssl/hosts")).Expect(HttpStatusCode.OK).Body.EnumerateArray()
                .Single(h => h.GetProperty("hostName").GetString() == host);
            Assert.Equal("Valid", row.GetProperty("state").GetString());

            // The key stays the node's own: only its user may read it.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }
        finally
        {
            (await servers.Parent.Api.DeleteAsync($"api/v1/linked-nodes/{id}")).Expect(HttpStatusCode.OK);
        }
    }

    /// <summary>
    /// Connects over TLS asking for <paramref name="host"/> (SNI), as a browser would: what it was given, and whether
    /// it chains to Pebble's root with only what the server sent (the leaf and its intermediates) and names the host.
    /// </summary>
    private async Task<(bool Trusted, string Subject, string Issuer)> PresentedAsync(int port, string host)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        (bool Trusted, string Subject, string Issuer) seen = (false, "", "");
        await using var tls = new SslStream(tcp.GetStream(), false, (_, certificate, chain, _) =>
        {
            var leaf = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
            var sent = new X509Certificate2Collection();
            foreach (var element in chain?.ChainPolicy.ExtraStore ?? [])
            {
                sent.Add(X509CertificateLoader.LoadCertificate(element.RawData));
            }

            seen = (TlsTrust.ChainsTo(leaf, servers.AcmeRootPem, sent) && leaf.MatchesHostname(host), leaf.Subject, leaf.Issuer);
            return true;
        });
        await tls.AuthenticateAsClientAsync(host);
        return seen;
    }
}
