using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;

namespace Portal.Features.Tls;

/// <summary>
/// Where each account's certificate is served. The parent's mail servers present every certificate AutoSSL holds; the
/// child that serves an account's mail gets its certificate through the node API (when the move's twin is made, and
/// again at each renewal) and presents it for mail. and webmail. there. A node the mail left keeps presenting it while
/// it sends on what still reaches it (clients with the old address cached), until its copy of the account is deleted.
/// A child checks what it is sent as strictly as anything else another node sends: names, chain, key and dates.
/// </summary>
/// <summary>
/// Puts certificates where they are served, what AutoSSL calls after a run: accounts' in the mail servers
/// (<see cref="MailCertificates"/>), panels' in their files here or on the child (<see cref="PanelCertificates"/>).
/// </summary>
public interface ICertificateInstaller
{
    Task InstallAsync(IReadOnlyCollection<string> usernames, CancellationToken ct);

    /// <returns>What happened to each, for an operation's log.</returns>
    Task<IReadOnlyList<string>> InstallPanelsAsync(IReadOnlyCollection<string> hostNames, CancellationToken ct);
}

public sealed class MailCertificates(
    IDbContextFactory<PortalDbContext> dbFactory,
    IDataProtectionProvider dataProtection,
    MailServerAdapter mailServers,
    INodeApiClientFactory clients,
    NodeLinkService links,
    TimeProvider clock,
    ILogger<MailCertificates> logger,
    PanelCertificates panels) : ICertificateInstaller
{
    /// <summary>The most a chain another node sends may hold (a leaf, its intermediates and a root are a few KiB).</summary>
    public const int MaxPemChars = 64 * 1024;

    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string RsaPublicKeyOid = "1.2.840.113549.1.1.1";

    private readonly IDataProtector _keys = dataProtection.CreateProtector(AutoSslService.KeyPurpose);

    /// <summary>Has this node's mail servers present every certificate this node holds (its own accounts', or those a parent sent).</summary>
    public async Task<bool> InstallHereAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow();
        var rows = await db.TlsCertificates.AsNoTracking()
            .Where(c => c.ChainPem != null && c.ProtectedKey != null && c.NotAfter > now)
            .Join(db.Accounts, c => c.AccountId, a => a.Id, (c, a) => new { a.Domain, c.Names, c.ChainPem, c.ProtectedKey })
            .OrderBy(r => r.Domain)
            .ToListAsync(ct);
        return await mailServers.InstallCertificatesAsync(
            rows.Select(r => new ServedCertificate(r.Names, r.ChainPem!, _keys.Unprotect(r.ProtectedKey!))).ToList(), ct);
    }

    /// <summary>
    /// Sends the account's certificate to the child that serves its mail (nothing when it has none yet). It never fails
    /// what called it: without it the child presents its own certificate until the next renewal, or an admin's "Run
    /// AutoSSL now", sends it again. Returns what happened, for an operation's log.
    /// </summary>
    public async Task<string?> SendAsync(string username, NodeApiClient child, string childAlias, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.TlsCertificates.AsNoTracking()
            .Where(c => c.ChainPem != null && c.ProtectedKey != null && db.Accounts.Any(a => a.Id == c.AccountId && a.Username == username))
            .SingleOrDefaultAsync(ct);
        if (row is null || row.NotAfter <= clock.GetUtcNow())
        {
            return null;
        }

        try
        {
            await child.PutMailCertificateAsync(username, new MailCertificate(row.ChainPem!, _keys.Unprotect(row.ProtectedKey!)), ct);
            return $"{childAlias} presents the certificate of {username} for mail. and webmail.";
        }
        catch (NodeApiException ex)
        {
            logger.LogWarning("The certificate of {Account} did not reach {Node}: {Error}", username, childAlias, ex.Message);
            return $"The certificate of {username} did not reach {childAlias} ({ex.Message}); it presents its own until the certificate is renewed or an admin runs AutoSSL now.";
        }
    }

    /// <summary>
    /// Served here, and sent to each child that serves one of these accounts' mail: after AutoSSL issued or renewed
    /// them, and for every account an admin's "Run AutoSSL now" covered (so a child that missed one gets it again).
    /// </summary>
    public async Task InstallAsync(IReadOnlyCollection<string> usernames, CancellationToken ct)
    {
        await InstallHereAsync(ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var distributed = await db.Accounts.AsNoTracking().Where(a => usernames.Contains(a.Username) && a.MailNodeId != null)
            .Join(db.LinkedNodes, a => a.MailNodeId, n => n.Id, (a, n) => new { a.Username, Node = n }).ToListAsync(ct);
        foreach (var account in distributed)
        {
            await SendAsync(account.Username, clients.Create(links.EndpointOf(account.Node)), account.Node.Alias, ct);
        }
    }

    public Task<IReadOnlyList<string>> InstallPanelsAsync(IReadOnlyCollection<string> hostNames, CancellationToken ct) => panels.InstallAsync(hostNames, ct);

    /// <summary>
    /// On a child: the certificate the parent sent for a twin's mail. and webmail., checked (<see cref="Problem"/>)
    /// before it is kept (its key protected with this node's keys) and served.
    /// </summary>
    public async Task AcceptAsync(Account twin, MailCertificate certificate, CancellationToken ct)
    {
        var names = AutoSslService.NamesOf(twin.Domain);
        var now = clock.GetUtcNow();
        if (Problem(names, certificate, now) is { } problem)
        {
            throw new UntrustedDataException(problem);
        }

        using var leaf = X509Certificate2.CreateFromPem(certificate.ChainPem);
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var row = await db.TlsCertificates.SingleOrDefaultAsync(c => c.AccountId == twin.Id, ct);
            if (row is null)
            {
                row = new TlsCertificate { AccountId = twin.Id };
                db.TlsCertificates.Add(row);
            }

            row.Names = [.. names];
            row.ChainPem = certificate.ChainPem;
            row.ProtectedKey = _keys.Protect(certificate.KeyPem);
            row.Issuer = leaf.Issuer.Length > 500 ? leaf.Issuer[..500] : leaf.Issuer;
            row.NotBefore = leaf.NotBefore.ToUniversalTime();
            row.NotAfter = leaf.NotAfter.ToUniversalTime();
            row.IssuedAt = now;
            row.LastAttemptAt = now;
            row.LastError = null;
            await db.SaveChangesAsync(ct);
        }

        await InstallHereAsync(ct);
    }

    /// <summary>
    /// What is wrong with a certificate another node sent for <paramref name="names"/>, or null: it must be PEM of at
    /// most 64 KiB, its first certificate valid now and for every name, and the key (RSA or ECDSA) the one for it.
    /// </summary>
    public static string? Problem(IReadOnlyList<string> names, MailCertificate certificate, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(certificate.ChainPem) || string.IsNullOrEmpty(certificate.KeyPem)
            || certificate.ChainPem.Length > MaxPemChars || certificate.KeyPem.Length > MaxPemChars)
        {
            return $"A certificate needs its chain and its key, each as PEM of at most {MaxPemChars / 1024} KiB.";
        }

        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(certificate.ChainPem);
        }
        catch (CryptographicException)
        {
            return "The chain is not a PEM certificate.";
        }

        using (leaf)
        {
            if (leaf.NotBefore.ToUniversalTime() > now.UtcDateTime || leaf.NotAfter.ToUniversalTime() <= now.UtcDateTime)
            {
                return $"The certificate is valid from {leaf.NotBefore.ToUniversalTime():u} to {leaf.NotAfter.ToUniversalTime():u}, not now.";
            }

            if (names.FirstOrDefault(n => !leaf.MatchesHostname(n, allowWildcards: false)) is { } missing)
            {
                return $"The certificate does not name {missing}.";
            }

            // RSA or ECDSA only, what Dovecot and Postfix are given; the pairing itself refuses a key that is not the leaf's.
            var algorithm = leaf.GetKeyAlgorithm();
            if (algorithm is not (EcPublicKeyOid or RsaPublicKeyOid))
            {
                return $"The key is not the certificate's own (a key of type {algorithm}).";
            }

            try
            {
                using var paired = X509Certificate2.CreateFromPem(certificate.ChainPem, certificate.KeyPem);
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException)
            {
                return $"The key is not the certificate's own ({ex.Message}).";
            }
        }

        return null;
    }
}
