using System.Security.Cryptography;
using Hangfire;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Portal.Features.Accounts;
using Portal.Features.Dns;
using Portal.Infrastructure.Configuration;
using Portal.Infrastructure.Data;
using Portal.Jobs.Tls;

namespace Portal.Features.Tls;

/// <summary>An account's certificate as the AutoSSL page and the API show it (never its key).</summary>
public sealed record CertificateRow(
    string Username,
    string Domain,
    IReadOnlyList<string> Names,
    string State,
    string? Issuer,
    DateTimeOffset? NotAfter,
    DateTimeOffset? LastAttemptAt,
    string? LastError,
    DateTimeOffset? NextAttemptAt);

/// <summary>What one AutoSSL run did.</summary>
public sealed record AutoSslRun(int Issued, int Failed, int UpToDate);

/// <summary>
/// AutoSSL on the parent: for each of its accounts (not a child's twins), a certificate for the domain, www., mail. and
/// webmail., validated through DNS-01 in the account's own zone (the guide's DNS DCV, which distributed accounts
/// require), issued when missing or when the names changed, renewed once less than <c>Portal:Tls:Acme:RenewBefore</c>
/// is left. A failure is recorded with its reason and tried again after 1, 2, 4... up to 24 hours; an admin's run now
/// ignores that wait. Off while <c>Portal:Tls:Acme:DirectoryUrl</c> is empty.
/// </summary>
public sealed class AutoSslService(
    IDbContextFactory<PortalDbContext> dbFactory,
    IOptions<PortalSettings> settings,
    IDataProtectionProvider dataProtection,
    IHttpClientFactory httpClients,
    AcmeDnsChallengeZone zone,
    ICertificateInstaller served,
    TimeProvider clock,
    ILoggerFactory loggers)
{
    public const string RecurringId = "autossl";
    public const string HttpClientName = "acme";

    private static readonly TimeSpan LongestWait = TimeSpan.FromHours(24);
    /// <summary>The Data Protection purpose of the certificates' and the ACME account's keys.</summary>
    public const string KeyPurpose = "Portal.Tls.Keys.v1";

    private readonly IDataProtector _keys = dataProtection.CreateProtector(KeyPurpose);
    private readonly ILogger _logger = loggers.CreateLogger<AutoSslService>();

    private AcmeSettings Acme => settings.Value.Tls.Acme;

    /// <summary>The names of an account's certificate, the domain first.</summary>
    public static IReadOnlyList<string> NamesOf(string domain) => [domain, "www." + domain, "mail." + domain, "webmail." + domain];

    /// <summary>The recurring job: every account whose certificate is missing, outdated or near its end, and due.</summary>
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(600)]
    public Task<AutoSslRun> RunDueAsync(CancellationToken ct) => RunAsync(username: null, ignoreBackoff: false, run: null, ct);

    /// <summary>
    /// An admin's "Run AutoSSL now" (one account, or all): due or not by the backoff, each is tried; with
    /// <paramref name="run"/>, as an operation that shows each account done and logs what happened to it.
    /// </summary>
    public Task<AutoSslRun> RunNowAsync(string? username, Jobs.Operations.IOperationRun? run, CancellationToken ct) => RunAsync(username, ignoreBackoff: true, run, ct);

    /// <summary>Whether AutoSSL looks after this account here: one of this node's own, with its zone on this node.</summary>
    public async Task<bool> CoversAsync(string username, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await Covered(db).AnyAsync(a => a.Username == username, ct);
    }

    private async Task<AutoSslRun> RunAsync(string? username, bool ignoreBackoff, Jobs.Operations.IOperationRun? run, CancellationToken ct)
    {
        if (!Acme.Enabled)
        {
            _logger.LogInformation("AutoSSL is off on this node (Portal:Tls:Acme:DirectoryUrl is empty)");
            return new AutoSslRun(0, 0, 0);
        }

        List<(Account Account, TlsCertificate? Certificate)> accounts;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var zoned = Covered(db);
            if (username is not null)
            {
                zoned = zoned.Where(a => a.Username == username);
            }

            accounts = (await zoned.OrderBy(a => a.Username)
                .Select(a => new { Account = a, Certificate = db.TlsCertificates.AsNoTracking().SingleOrDefault(c => c.AccountId == a.Id) })
                .ToListAsync(ct)).Select(x => (x.Account, x.Certificate)).ToList();
        }

        var now = clock.GetUtcNow();
        var due = accounts.Where(a => IsDue(a.Account, a.Certificate, now) && (ignoreBackoff || a.Certificate?.NextAttemptAt is null || a.Certificate.NextAttemptAt <= now)).ToList();
        var upToDate = accounts.Count - due.Count;
        // An admin's run puts every certificate it covers in place again (a child that missed one gets it then).
        var covered = accounts.Select(a => a.Account.Username).ToList();
        if (run is not null)
        {
            await run.LogAsync(Jobs.Operations.OperationLogLevel.Info, $"{due.Count} certificate(s) to issue or renew; {upToDate} up to date.", ct);
        }

        if (due.Count == 0)
        {
            if (ignoreBackoff && covered.Count > 0)
            {
                await InstallAsync(covered, run, ct);
            }

            return new AutoSslRun(0, 0, upToDate);
        }

        AcmeClient client;
        try
        {
            client = await ClientAsync(ct);
        }
        catch (Exception ex) when (ex is AcmeException or HttpRequestException or TimeoutException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            // Nothing can be issued: each account due says why, and waits as after its own failure.
            var reason = $"The certificate authority at {Acme.DirectoryUrl} could not be reached or refused this node's account: {ex.Message}";
            foreach (var (account, _) in due)
            {
                await RecordAsync(account.Id, NamesOf(account.Domain), null, reason, ct);
            }

            _logger.LogWarning("AutoSSL: {Reason}", reason);
            if (run is not null)
            {
                await run.LogAsync(Jobs.Operations.OperationLogLevel.Error, reason, ct);
            }

            return new AutoSslRun(0, due.Count, upToDate);
        }

        var (issued, failed) = (0, 0);
        var issuedFor = new List<string>();
        foreach (var (account, _) in due)
        {
            var names = NamesOf(account.Domain);
            try
            {
                var certificate = await client.IssueAsync(names, zone, progress: null, ct);
                await RecordAsync(account.Id, names, certificate, null, ct);
                _logger.LogInformation("AutoSSL: {Account}'s certificate for {Names} issued by {Issuer}, valid until {NotAfter:u}", account.Username, string.Join(", ", names), certificate.Issuer, certificate.NotAfter);
                issued++;
                issuedFor.Add(account.Username);
                if (run is not null)
                {
                    await run.LogAsync(Jobs.Operations.OperationLogLevel.Info, $"{account.Username}: a certificate for {string.Join(", ", names)}, valid until {certificate.NotAfter:yyyy-MM-dd}.", ct);
                }
            }
            catch (Exception ex) when (ex is AcmeException or HttpRequestException or TimeoutException or InvalidOperationException or Infrastructure.Security.PortalNotFoundException or CryptographicException)
            {
                await RecordAsync(account.Id, names, null, ex.Message, ct);
                _logger.LogWarning("AutoSSL: {Account}'s certificate was not issued: {Error}", account.Username, ex.Message);
                failed++;
                if (run is not null)
                {
                    await run.LogAsync(Jobs.Operations.OperationLogLevel.Warning, $"{account.Username}: not issued: {ex.Message}", ct);
                }
            }

            if (run is not null)
            {
                await run.ReportAsync(new Jobs.Operations.StepProgress(issued + failed, due.Count), ct);
            }
        }

        var toInstall = ignoreBackoff ? covered : issuedFor;
        if (toInstall.Count > 0)
        {
            await InstallAsync(toInstall, run, ct);
        }

        return new AutoSslRun(issued, failed, upToDate);
    }

    /// <summary>
    /// Puts the certificates where they are served (<see cref="MailCertificates"/>). A server that does not take them
    /// fails no certificate: it is kept, said, and installed again by the next run that issues one or an admin's run.
    /// </summary>
    private async Task InstallAsync(IReadOnlyCollection<string> usernames, Jobs.Operations.IOperationRun? run, CancellationToken ct)
    {
        try
        {
            await served.InstallAsync(usernames, ct);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException or Jobs.Common.ExternalProgramTimeoutException)
        {
            _logger.LogWarning("AutoSSL: the mail servers did not take the new certificates: {Error}", ex.Message);
            if (run is not null)
            {
                await run.LogAsync(Jobs.Operations.OperationLogLevel.Warning, $"The mail servers did not take the new certificates: {ex.Message}", ct);
            }
        }
    }

    /// <summary>The accounts AutoSSL looks after here: this node's own (not a child's twins), whose zone is on this node.</summary>
    private static IQueryable<Account> Covered(PortalDbContext db) =>
        db.Accounts.AsNoTracking().Where(a => a.ParentNodeId == null && db.DnsZones.Any(z => z.AccountId == a.Id));

    /// <summary>Without a certificate, for other names, or within <c>RenewBefore</c> of its end.</summary>
    private bool IsDue(Account account, TlsCertificate? certificate, DateTimeOffset now) =>
        certificate?.NotAfter is not { } notAfter
        || !certificate.Names.SequenceEqual(NamesOf(account.Domain))
        || notAfter - now < Acme.RenewBefore;

    private async Task RecordAsync(long accountId, IReadOnlyList<string> names, IssuedCertificate? issued, string? error, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.TlsCertificates.SingleOrDefaultAsync(c => c.AccountId == accountId, ct);
        if (row is null)
        {
            row = new TlsCertificate { AccountId = accountId };
            db.TlsCertificates.Add(row);
        }

        var now = clock.GetUtcNow();
        row.LastAttemptAt = now;
        if (issued is not null)
        {
            row.Names = [.. names];
            row.ChainPem = issued.ChainPem;
            row.ProtectedKey = _keys.Protect(issued.PrivateKeyPem);
            row.Issuer = issued.Issuer.Length > 500 ? issued.Issuer[..500] : issued.Issuer;
            row.NotBefore = issued.NotBefore;
            row.NotAfter = issued.NotAfter;
            row.IssuedAt = now;
            row.LastError = null;
            row.Failures = 0;
            row.NextAttemptAt = null;
        }
        else
        {
            // The certificate already held (if any) stays in use; only the attempt is recorded.
            if (row.ChainPem is null)
            {
                row.Names = [.. names];
            }

            row.LastError = error!.Length > 2000 ? error[..2000] : error;
            row.Failures++;
            var wait = TimeSpan.FromHours(Math.Pow(2, Math.Min(row.Failures - 1, 5)));
            row.NextAttemptAt = now + (wait > LongestWait ? LongestWait : wait);
        }

        await db.SaveChangesAsync(ct);
    }

    /// <summary>The ACME client with this node's account key for the configured directory, made and kept on first use.</summary>
    private async Task<AcmeClient> ClientAsync(CancellationToken ct)
    {
        var directory = Acme.DirectoryUrl!;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var stored = await db.AcmeAccountKeys.SingleOrDefaultAsync(a => a.DirectoryUrl == directory, ct);
        if (stored is null)
        {
            stored = new AcmeAccountKey { DirectoryUrl = directory, ProtectedKey = _keys.Protect(AcmeClient.NewAccountKeyPem()), CreatedAt = clock.GetUtcNow() };
            db.AcmeAccountKeys.Add(stored);
            await db.SaveChangesAsync(ct);
        }

        var key = ECDsa.Create();
        key.ImportFromPem(_keys.Unprotect(stored.ProtectedKey));
        var client = new AcmeClient(httpClients.CreateClient(HttpClientName), new Uri(directory), key, loggers.CreateLogger<AcmeClient>());
        var accountUrl = await client.RegisterAsync(Acme.ContactEmail, ct);
        if (stored.AccountUrl != accountUrl)
        {
            stored.AccountUrl = accountUrl;
            await db.SaveChangesAsync(ct);
        }

        return client;
    }

    /// <summary>Every account's certificate, for admins (the page and <c>GET /api/v1/ssl/certificates</c>).</summary>
    public async Task<IReadOnlyList<CertificateRow>> ListAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await Covered(db).OrderBy(a => a.Username)
            .Select(a => new { a.Username, a.Domain, Certificate = db.TlsCertificates.AsNoTracking().SingleOrDefault(c => c.AccountId == a.Id) })
            .ToListAsync(ct);
        var now = clock.GetUtcNow();
        return rows.Select(r => new CertificateRow(
            r.Username,
            r.Domain,
            r.Certificate?.Names is { Count: > 0 } names ? names : NamesOf(r.Domain),
            StateOf(r.Certificate, now),
            r.Certificate?.Issuer,
            r.Certificate?.NotAfter,
            r.Certificate?.LastAttemptAt,
            r.Certificate?.LastError,
            r.Certificate?.NextAttemptAt)).ToList();
    }

    /// <summary>The account's certificate and chain (PEM, public), to check or install elsewhere.</summary>
    public async Task<string> ChainAsync(string username, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.TlsCertificates.AsNoTracking().Where(c => Covered(db).Any(a => a.Id == c.AccountId && a.Username == username))
                .Select(c => c.ChainPem).SingleOrDefaultAsync(ct)
            ?? throw new Infrastructure.Security.PortalNotFoundException($"Account {username} has no certificate yet; run AutoSSL for it, or see its last attempt on the AutoSSL page.");
    }

    private string StateOf(TlsCertificate? certificate, DateTimeOffset now) => certificate switch
    {
        null => "Pending",
        { NotAfter: { } notAfter } when notAfter <= now => "Expired",
        { NotAfter: { } notAfter } when notAfter - now < Acme.RenewBefore => "Renewing",
        { NotAfter: not null } => "Valid",
        _ => "Failed",
    };
}

/// <summary>
/// DNS-01 records in the accounts' zones on this node, published at once through PowerDNS: the zone keeps them, so no
/// other publication of the zone removes them during a validation (docs/adr/0003-acme-client.md).
/// </summary>
public sealed class AcmeDnsChallengeZone(DnsZoneService zones, DnsPublisher publisher) : IDnsChallengeZone
{
    public async Task PublishAsync(string name, string value, CancellationToken ct)
    {
        if (!publisher.Enabled)
        {
            throw new InvalidOperationException("This node publishes no DNS (Portal:Dns:PowerDns:ApiUrl is empty), so AutoSSL cannot prove its names through DNS-01.");
        }

        await publisher.PublishAsync(await zones.SetAcmeChallengeAsync(name, value, present: true, ct), ct);
    }

    public async Task RemoveAsync(string name, string value, CancellationToken ct) =>
        await publisher.PublishAsync(await zones.SetAcmeChallengeAsync(name, value, present: false, ct), ct);
}
