using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Portal.Infrastructure.Security;

/// <summary>
/// The certificate the panel serves HTTPS with (<c>Portal:Tls</c>), read from its PEM files and read again when they
/// change, checked at most every <see cref="CheckEvery"/> when a TLS connection starts: a renewed certificate (by an
/// admin, or by AutoSSL) is served without a restart, and a half-written or broken file keeps the last good one. The
/// chain in the file (a CA's intermediates) is sent with it, as browsers need. With
/// <c>Portal:Tls:CertificateFromAutoSsl</c>, until AutoSSL first wrote the files, a self-signed certificate for the
/// panel's host is served (browsers warn, as on any new server).
/// </summary>
public sealed class PanelCertificate(IOptions<PortalSettings> settings, TimeProvider clock, ILogger<PanelCertificate> logger) : IDisposable
{
    public static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private Served? _current;
    private (DateTime Certificate, DateTime Key) _loadedStamps;
    private DateTimeOffset _checkedAt = DateTimeOffset.MinValue;
    private Served? _selfSigned;

    /// <summary>A certificate with its key, and what a TLS handshake sends: it and its chain.</summary>
    private sealed record Served(X509Certificate2 Certificate, SslStreamCertificateContext Context);

    /// <summary>Loads a certificate with its key from PEM files (the certificate first, then its chain).</summary>
    public static X509Certificate2 Load(string certificateFile, string keyFile) =>
        X509Certificate2.CreateFromPemFile(certificateFile, keyFile);

    /// <summary>The certificate served now.</summary>
    public X509Certificate2 Current => Refresh().Certificate;

    /// <summary>The certificate served now with the chain its file holds, for the TLS handshake.</summary>
    public SslStreamCertificateContext CurrentContext => Refresh().Context;

    private Served Refresh()
    {
        var tls = settings.Value.Tls;
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            if (_current is not null && now - _checkedAt < CheckEvery)
            {
                return _current;
            }

            _checkedAt = now;
            if (tls.CertificateFromAutoSsl && _current is null && !(File.Exists(tls.CertificateFile) && File.Exists(tls.KeyFile)))
            {
                return SelfSigned();
            }

            var stamps = (File.GetLastWriteTimeUtc(tls.CertificateFile!), File.GetLastWriteTimeUtc(tls.KeyFile!));
            if (_current is not null && stamps == _loadedStamps)
            {
                return _current;
            }

            try
            {
                var fresh = Load(tls.CertificateFile!, tls.KeyFile!);
                var chain = new X509Certificate2Collection();
                chain.ImportFromPemFile(tls.CertificateFile!);
                var intermediates = new X509Certificate2Collection(chain.Skip(1).ToArray());
                // The previous one is not disposed: a handshake on another connection may be using it right now.
                (_current, _loadedStamps) = (new Served(fresh, SslStreamCertificateContext.Create(fresh, intermediates, offline: true)), stamps);
                logger.LogInformation("Serving HTTPS with the certificate for {Subject} (valid until {NotAfter:u}, thumbprint {Thumbprint})", fresh.Subject, fresh.NotAfter, fresh.Thumbprint);
            }
            catch (Exception ex) when ((_current is not null || tls.CertificateFromAutoSsl) && ex is IOException or CryptographicException or ArgumentException)
            {
                logger.LogWarning("The panel's certificate files changed but cannot be read ({Error}); the previous certificate is still served", ex.Message);
            }

            return _current ?? SelfSigned();
        }
    }

    /// <summary>The stand-in until AutoSSL's first certificate: self-signed for the panel's host, made once.</summary>
    private Served SelfSigned()
    {
        if (_selfSigned is null)
        {
            var host = PanelHost.Of(settings.Value) ?? "localhost";
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName(host);
            request.CertificateExtensions.Add(names.Build());
            var now = clock.GetUtcNow();
            using var made = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(90));
            // Exported and read back: on Linux a certificate with an ephemeral key serves TLS only this way.
            var certificate = X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null);
            _selfSigned = new Served(certificate, SslStreamCertificateContext.Create(certificate, null, offline: true));
            logger.LogWarning("Serving HTTPS with a self-signed certificate for {Host} until AutoSSL writes the panel's certificate to {File}", host, settings.Value.Tls.CertificateFile);
        }

        return _selfSigned;
    }

    public void Dispose()
    {
        _current?.Certificate.Dispose();
        _selfSigned?.Certificate.Dispose();
    }
}
