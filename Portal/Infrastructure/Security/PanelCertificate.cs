using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Portal.Infrastructure.Configuration;

namespace Portal.Infrastructure.Security;

/// <summary>
/// The certificate the panel serves HTTPS with (<c>Portal:Tls</c>), read from its PEM files and read again when they
/// change, checked at most every <see cref="CheckEvery"/> when a TLS connection starts: a renewed certificate (by an
/// admin, or later by AutoSSL) is served without a restart, and a half-written or broken file keeps the last good one.
/// </summary>
public sealed class PanelCertificate(IOptions<PortalSettings> settings, TimeProvider clock, ILogger<PanelCertificate> logger) : IDisposable
{
    public static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private X509Certificate2? _current;
    private (DateTime Certificate, DateTime Key) _loadedStamps;
    private DateTimeOffset _checkedAt = DateTimeOffset.MinValue;

    /// <summary>Loads a certificate with its key from PEM files (the certificate first, then its chain).</summary>
    public static X509Certificate2 Load(string certificateFile, string keyFile) =>
        X509Certificate2.CreateFromPemFile(certificateFile, keyFile);

    public X509Certificate2 Current
    {
        get
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
                var stamps = (File.GetLastWriteTimeUtc(tls.CertificateFile!), File.GetLastWriteTimeUtc(tls.KeyFile!));
                if (_current is not null && stamps == _loadedStamps)
                {
                    return _current;
                }

                try
                {
                    var fresh = Load(tls.CertificateFile!, tls.KeyFile!);
                    // The previous one is not disposed: a handshake on another connection may be using it right now.
                    (_current, _loadedStamps) = (fresh, stamps);
                    logger.LogInformation("Serving HTTPS with the certificate for {Subject} (valid until {NotAfter:u}, thumbprint {Thumbprint})", fresh.Subject, fresh.NotAfter, fresh.Thumbprint);
                }
                catch (Exception ex) when (_current is not null && ex is IOException or System.Security.Cryptography.CryptographicException or ArgumentException)
                {
                    logger.LogWarning("The panel's certificate files changed but cannot be read ({Error}); the previous certificate is still served", ex.Message);
                }

                return _current!;
            }
        }
    }

    public void Dispose() => _current?.Dispose();
}
