using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Portal.Tests.Integration;

/// <summary>
/// The panel serves HTTPS with the certificate its settings name, redirects plain HTTP there (health probes aside),
/// tells browsers to keep to HTTPS, and takes a renewed certificate without a restart.
/// </summary>
public sealed class PanelTlsTests : IDisposable
{
    private const string Host = "panel.example.test";
    private readonly TempFolder _temp = new("portal-tls-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task ANodeWithACertificate_ServesHttps_RedirectsHttp_SendsHsts_AndTakesARenewalWithoutARestart()
    {
        var (certificateFile, keyFile) = (Path.Combine(_temp.Path, "panel.pem"), Path.Combine(_temp.Path, "panel.key"));
        var first = WriteCertificate(certificateFile, keyFile);
        var httpsPort = PortalNode.FreePort();
        await using var node = await PortalNode.StartAsync("tls", new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{{port}};https://127.0.0.1:{httpsPort}",
            ["Portal:Tls:CertificateFile"] = certificateFile,
            ["Portal:Tls:KeyFile"] = keyFile,
        });

        using (var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = node.BaseUrl })
        {
            var redirected = await http.GetAsync("auth/signin?returnUrl=%2Fadmin");
            Assert.Equal(HttpStatusCode.TemporaryRedirect, redirected.StatusCode);
            Assert.Equal($"https://127.0.0.1:{httpsPort}/auth/signin?returnUrl=%2Fadmin", redirected.Headers.Location!.ToString());
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz/live")).StatusCode);
        }

        var (served, response) = await GetOverHttpsAsync(httpsPort, "auth/signin");
        Assert.Equal(first.Thumbprint, served);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("max-age=31536000", string.Join(",", response.Headers.GetValues("Strict-Transport-Security")));

        // Renewed in place, as AutoSSL or an admin would: new connections get the new certificate.
        var renewed = WriteCertificate(certificateFile, keyFile);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((served = (await GetOverHttpsAsync(httpsPort, "healthz/live")).Thumbprint) != renewed.Thumbprint && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        Assert.Equal(renewed.Thumbprint, served);
    }

    [Fact]
    public void Settings_WithAKeyThatIsNotTheCertificates_OrOneFileAlone_AreRefusedSayingWhatToGive()
    {
        var (certificateFile, keyFile) = (Path.Combine(_temp.Path, "a.pem"), Path.Combine(_temp.Path, "a.key"));
        WriteCertificate(certificateFile, keyFile);
        var (_, otherKey) = (Path.Combine(_temp.Path, "b.pem"), Path.Combine(_temp.Path, "b.key"));
        WriteCertificate(Path.Combine(_temp.Path, "b.pem"), otherKey);

        var mismatched = Validate(new TlsSettings { CertificateFile = certificateFile, KeyFile = otherKey });
        var alone = Validate(new TlsSettings { CertificateFile = certificateFile });
        var fine = Validate(new TlsSettings { CertificateFile = certificateFile, KeyFile = keyFile });

        Assert.Contains(mismatched, e => e.StartsWith($"Portal:Tls: the certificate {certificateFile} with the key {otherKey} cannot be used", StringComparison.Ordinal) && e.Contains("unencrypted PEM key", StringComparison.Ordinal));
        Assert.Contains(alone, e => e.StartsWith("Portal:Tls:CertificateFile and Portal:Tls:KeyFile go together", StringComparison.Ordinal));
        Assert.DoesNotContain(fine, e => e.Contains("Portal:Tls", StringComparison.Ordinal));
    }

    private static IReadOnlyList<string> Validate(TlsSettings tls) =>
        new PortalSettingsValidator().Validate(null, new PortalSettings { Tls = tls }).Failures?.ToList() ?? [];

    /// <summary>Connects over TLS (a new connection each time) as a browser asking for the panel's host would.</summary>
    private static async Task<(string? Thumbprint, HttpResponseMessage Response)> GetOverHttpsAsync(int port, string path)
    {
        string? thumbprint = null;
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = Host,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    thumbprint = certificate is null ? null : new X509Certificate2(certificate).Thumbprint;
                    return true;
                },
            },
        };
        using var https = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{port}/{path}");
        request.Headers.Host = Host;
        var response = await https.SendAsync(request);
        return (thumbprint, response);
    }

    private static X509Certificate2 WriteCertificate(string certificateFile, string keyFile)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={Host}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(Host);
        request.CertificateExtensions.Add(names.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        // Written beside and renamed into place, as a renewal would be: a reader never sees half a file.
        File.WriteAllText(keyFile + ".new", key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificateFile + ".new", certificate.ExportCertificatePem());
        File.Move(keyFile + ".new", keyFile, overwrite: true);
        File.Move(certificateFile + ".new", certificateFile, overwrite: true);
        return certificate;
    }
}
