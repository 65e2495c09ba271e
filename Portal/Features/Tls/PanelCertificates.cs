using Microsoft.AspNetCore.DataProtection;

namespace Portal.Features.Tls;

/// <summary>
/// Where the nodes' panel certificates go (<c>Portal:Tls:CertificateFromAutoSsl</c>): the parent writes its own into
/// its <c>Portal:Tls</c> files and sends each child the one for the host name the child asked for; the child checks it
/// as strictly as anything else another node sends (its own host, chain, key, dates) before it writes it. The panel
/// serves what the files hold within seconds (<see cref="PanelCertificate"/>).
/// </summary>
public sealed class PanelCertificates(
    IDbContextFactory<PortalDbContext> dbFactory,
    IDataProtectionProvider dataProtection,
    IOptions<PortalSettings> settings,
    INodeApiClientFactory clients,
    NodeLinkService links,
    TimeProvider clock,
    ILogger<PanelCertificates> logger)
{
    private readonly IDataProtector _keys = dataProtection.CreateProtector(AutoSslService.KeyPurpose);

    /// <summary>
    /// Puts each of these host names' certificates where it is served. A node that does not take one fails nothing: it
    /// is said (the returned lines, for an operation's log) and sent again by the next run that issues or an admin's.
    /// </summary>
    public async Task<IReadOnlyList<string>> InstallAsync(IReadOnlyCollection<string> hostNames, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow();
        var rows = await db.TlsCertificates.AsNoTracking()
            .Where(c => c.HostName != null && hostNames.Contains(c.HostName) && c.ChainPem != null && c.ProtectedKey != null && c.NotAfter > now)
            .ToListAsync(ct);
        var children = await db.LinkedNodes.AsNoTracking().Where(n => n.PanelHostName != null && hostNames.Contains(n.PanelHostName)).OrderBy(n => n.LinkedAt).ToListAsync(ct);
        var said = new List<string>();
        foreach (var row in rows)
        {
            var certificate = new MailCertificate(row.ChainPem!, _keys.Unprotect(row.ProtectedKey!));
            if (row.HostName == PanelHost.Requested(settings.Value))
            {
                try
                {
                    await WriteAsync(settings.Value.Tls, certificate, ct);
                    said.Add($"This node serves its panel at {row.HostName} with its new certificate.");
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    logger.LogWarning("The panel's certificate for {Host} could not be written: {Error}", row.HostName, ex.Message);
                    said.Add($"The panel's certificate for {row.HostName} could not be written ({ex.Message}); check Portal:Tls:CertificateFile and KeyFile.");
                }

                continue;
            }

            if (children.FirstOrDefault(n => n.PanelHostName == row.HostName) is not { } child)
            {
                continue;
            }

            try
            {
                await clients.Create(links.EndpointOf(child)).PutPanelCertificateAsync(certificate, ct);
                said.Add($"{child.Alias} serves its panel at {row.HostName} with its new certificate.");
            }
            catch (NodeApiException ex)
            {
                logger.LogWarning("The panel certificate for {Host} did not reach {Node}: {Error}", row.HostName, child.Alias, ex.Message);
                said.Add($"The panel certificate for {row.HostName} did not reach {child.Alias} ({ex.Message}); it is sent again by the next renewal or an admin's run.");
            }
        }

        return said;
    }

    /// <summary>On a child: the panel certificate its parent sent, checked, then written where the panel reads it.</summary>
    public async Task AcceptAsync(MailCertificate certificate, CancellationToken ct)
    {
        var tls = settings.Value.Tls;
        if (PanelHost.Requested(settings.Value) is not { } host)
        {
            throw new PortalConflictException(
                "This node takes no panel certificate from its parent (Portal:Tls:CertificateFromAutoSsl is off, or Portal:PublicUrl names no host).",
                code: "tls.panel_certificate_not_taken");
        }

        if (MailCertificates.Problem([host], certificate, clock.GetUtcNow()) is { } problem)
        {
            throw new UntrustedDataException($"The panel certificate sent for {host} was refused: {problem}");
        }

        await WriteAsync(tls, certificate, ct);
        logger.LogInformation("The parent sent a panel certificate for {Host}; it is served from now on", host);
    }

    /// <summary>
    /// Writes the key (its owner's alone), then the certificate, each whole (<see cref="WholeFile"/>): the panel never
    /// reads half a file, and a key that does not match the certificate for a moment keeps the one it served.
    /// </summary>
    internal static async Task WriteAsync(TlsSettings tls, MailCertificate certificate, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(tls.KeyFile!))!);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(tls.CertificateFile!))!);
        await WholeFile.WriteAsync(tls.KeyFile!, certificate.KeyPem, ct, ownerOnly: true);
        await WholeFile.WriteAsync(tls.CertificateFile!, certificate.ChainPem, ct);
    }
}
