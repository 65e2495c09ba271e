namespace Portal.Jobs.Mail;

/// <summary>
/// A certificate the mail servers present for its names (SNI): the chain (PEM, leaf first) and its private key
/// (PKCS#8 PEM). <paramref name="Names"/> are checked host names, the first one naming the files.
/// </summary>
public sealed record ServedCertificate(IReadOnlyList<string> Names, string ChainPem, string KeyPem);

public sealed partial class MailServerAdapter
{
    /// <summary>The folder in the mail state folder with each certificate's chain and key (each readable by its owner only).</summary>
    public const string CertificatesFolder = "tls";

    /// <summary>Dovecot's <c>local_name</c> blocks (included by the mail clients' instance, see scripts/mail-servers).</summary>
    public const string DovecotTlsFile = "dovecot-tls.conf";

    /// <summary>Postfix's SNI table (<c>tls_server_sni_maps</c>), compiled with <c>postmap -F</c>.</summary>
    public const string SniMapFile = "postfix-tls-sni";

    /// <summary>
    /// nginx's server blocks for the webmail names (included by scripts/webmail's configuration): one per
    /// <c>webmail.</c> name with a certificate, which includes the webmail's own server settings (listener, Roundcube).
    /// </summary>
    public const string WebmailServersFile = "nginx-webmail.conf";

    /// <summary>What each webmail server block includes: written by scripts/webmail next to its nginx configuration.</summary>
    public const string WebmailServerSettingsFile = "server.conf";

    private readonly SemaphoreSlim _certificatesGate = new(1, 1);

    /// <summary>
    /// Has Dovecot (IMAP, POP3) and Postfix (25, 587, 465) present exactly <paramref name="certificates"/> for their
    /// names, and the node's own certificate for any other: writes each chain and key, the SNI tables, and, when any of
    /// it changed, compiles Postfix's table and reloads Postfix and the mail clients' Dovecot (never the delivery one,
    /// see scripts/mail-servers). Files of certificates no longer listed go. A name that is not a host name is refused
    /// before anything is written: it goes into Dovecot's configuration.
    /// </summary>
    public async Task<bool> InstallCertificatesAsync(IReadOnlyList<ServedCertificate> certificates, CancellationToken cancellationToken)
    {
        foreach (var name in certificates.SelectMany(c => c.Names))
        {
            if (!MailRules.IsDomain(name) || name != name.ToLowerInvariant())
            {
                throw new UntrustedDataException($"'{name}' is not a host name a certificate can be served for.");
            }
        }

        await _certificatesGate.WaitAsync(cancellationToken);
        try
        {
            var folder = Path.Combine(settings.StateDirectory, CertificatesFolder);
            Directory.CreateDirectory(folder);
            var changed = false;
            var kept = new HashSet<string>(StringComparer.Ordinal);
            var dovecot = new StringBuilder("# Written by Portal: the certificate for each name a mail client asks for (SNI).\n");
            var sni = new StringBuilder();
            var webmail = new StringBuilder("# Written by Portal: the certificate of each webmail name (scripts/webmail includes this file).\n");
            var webmailSettings = string.IsNullOrEmpty(settings.NginxConfig) ? null : Path.Combine(Path.GetDirectoryName(settings.NginxConfig)!, WebmailServerSettingsFile);
            // One name in two certificates (a domain renamed while its old certificate is still listed): the first wins.
            var served = new HashSet<string>(StringComparer.Ordinal);
            foreach (var certificate in certificates.Where(c => c.Names.Count > 0))
            {
                var label = certificate.Names[0];
                var (chain, key) = (Path.Combine(folder, label + ".crt"), Path.Combine(folder, label + ".key"));
                changed |= await WholeFile.WriteAsync(key, certificate.KeyPem, cancellationToken, ownerOnly: true);
                changed |= await WholeFile.WriteAsync(chain, certificate.ChainPem, cancellationToken, ownerOnly: true);
                kept.UnionWith([chain, key]);
                foreach (var name in certificate.Names.Where(served.Add))
                {
                    dovecot.Append(CultureInfo.InvariantCulture, $"local_name {name} {{\n  ssl_cert = <{chain}\n  ssl_key = <{key}\n}}\n");
                    sni.Append(CultureInfo.InvariantCulture, $"{name} {key} {chain}\n");
                    if (name.StartsWith("webmail.", StringComparison.Ordinal) && webmailSettings is not null)
                    {
                        webmail.Append(CultureInfo.InvariantCulture,
                            $"server {{\n  server_name {name};\n  include {webmailSettings};\n  ssl_certificate {chain};\n  ssl_certificate_key {key};\n}}\n");
                    }
                }
            }

            foreach (var stale in Directory.EnumerateFiles(folder).Where(f => !kept.Contains(f)))
            {
                File.Delete(stale);
                changed = true;
            }

            changed |= await WriteAsync(DovecotTlsFile, dovecot.ToString(), cancellationToken);
            var sniChanged = await WholeFile.WriteAsync(Path.Combine(settings.StateDirectory, SniMapFile), sni.ToString(), cancellationToken, ownerOnly: true);
            changed |= await WriteAsync(WebmailServersFile, webmail.ToString(), cancellationToken);
            if (!changed && !sniChanged && !_certificatesPending)
            {
                return false;
            }

            _certificatesPending = true;
            await ApplyCertificatesAsync(cancellationToken);
            _certificatesPending = false;
            logger.LogInformation("The mail servers present {Count} certificate(s) for {Names} name(s)", certificates.Count, served.Count);
            return true;
        }
        finally
        {
            _certificatesGate.Release();
        }
    }

    // Set until the servers took the certificates written: a failed reload is done again by the next installation.
    private bool _certificatesPending;

    private async Task ApplyCertificatesAsync(CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(settings.Postmap))
        {
            // The key and chain files go into the table itself (-F): smtpd reads them from there. Compiled beside it
            // and renamed into place, as the other maps are, so no smtpd reads a table half written.
            await CompileMapAsync(Path.Combine(settings.StateDirectory, SniMapFile), ct, embedFiles: true);
            await ReloadPostfixAsync(ct);
        }

        if (!string.IsNullOrEmpty(settings.Doveadm))
        {
            var (exit, error) = await RunAsync(settings.Doveadm, DoveadmArgs("reload"), ct);
            if (exit != 0 && await CheckDovecotAsync(ct) is not (false, _))
            {
                throw new InvalidOperationException($"doveadm reload failed ({exit}): {error}");
            }
        }

        if (!string.IsNullOrEmpty(settings.Nginx))
        {
            // Checked first, so a configuration nginx refuses is said here (a reload would only log it and go on with
            // the old one); then a graceful reload: requests under way finish on the old workers.
            string[] config = string.IsNullOrEmpty(settings.NginxConfig) ? [] : ["-c", settings.NginxConfig];
            foreach (var args in new string[][] { [.. config, "-t", "-q"], [.. config, "-s", "reload"] })
            {
                var (exit, error) = await RunAsync(settings.Nginx, args, ct, privileged: true);
                if (exit != 0)
                {
                    throw new InvalidOperationException($"nginx {string.Join(' ', args)} failed ({exit}): {error}");
                }
            }
        }
    }
}
