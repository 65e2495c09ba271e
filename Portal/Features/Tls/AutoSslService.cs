using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

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

/// <summary>A node's panel certificate as the AutoSSL page and the API show it (never its key).</summary>
public sealed record HostCertificateRow(
    string HostName,
    string Node,
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
/// is left. The same for the panels' host names (this node's and its children's, <c>Portal:Tls:CertificateFromAutoSsl</c>),
/// proved in the nodes' zone (<c>Portal:Dns:NodesZone</c>). A failure is recorded with its reason and tried again after
/// 1, 2, 4... up to 24 hours; an admin's run now ignores that wait. Off while <c>Portal:Tls:Acme:DirectoryUrl</c> is empty.
/// </summary>
public sealed class AutoSslService(
    IDbContextFactory<PortalDbContext> dbFactory,
    IOptions<PortalSettings> settings,
    IDataProtectionProvider dataProtection,
    IHttpClientFactory httpClients,
    AcmeDnsChallengeZone zone,
    DnsZoneService dnsZones,
    DnsPublisher publisher,
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
    public Task<AutoSslRun> RunDueAsync(CancellationToken ct) => RunAsync(username: null, hostName: null, ignoreBackoff: false, run: null, ct);

    /// <summary>
    /// An admin's "Run AutoSSL now" (one account, one panel host name, or all): due or not by the backoff, each is
    /// tried; with <paramref name="run"/>, as an operation that shows each done and logs what happened to it.
    /// </summary>
    public Task<AutoSslRun> RunNowAsync(string? username, string? hostName, IOperationRun? run, CancellationToken ct) =>
        RunAsync(username, hostName, ignoreBackoff: true, run, ct);

    /// <summary>Whether AutoSSL looks after this account here: one of this node's own, with its zone on this node.</summary>
    public async Task<bool> CoversAsync(string username, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await Covered(db).AnyAsync(a => a.Username == username, ct);
    }

    private async Task<AutoSslRun> RunAsync(string? username, string? hostName, bool ignoreBackoff, IOperationRun? run, CancellationToken ct)
    {
        if (!Acme.Enabled)
        {
            _logger.LogInformation("AutoSSL is off on this node (Portal:Tls:Acme:DirectoryUrl is empty)");
            return new AutoSslRun(0, 0, 0);
        }

        var subjects = new List<Subject>();
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var zoned = Covered(db);
            if (username is not null)
            {
                zoned = zoned.Where(a => a.Username == username);
            }

            if (hostName is null)
            {
                subjects.AddRange((await zoned.OrderBy(a => a.Username)
                    .Select(a => new { Account = a, Certificate = db.TlsCertificates.AsNoTracking().SingleOrDefault(c => c.AccountId == a.Id) })
                    .ToListAsync(ct)).Select(x => Subject.ForAccount(x.Account, x.Certificate)));
            }

            if (username is null)
            {
                subjects.AddRange((await HostsAsync(db, ct)).Where(h => hostName is null || h.HostName == hostName));
            }
        }

        var now = clock.GetUtcNow();
        var due = subjects.Where(s => IsDue(s, now) && (ignoreBackoff || s.Certificate?.NextAttemptAt is null || s.Certificate.NextAttemptAt <= now)).ToList();
        var upToDate = subjects.Count - due.Count;
        var total = due.Count;
        // An admin's run puts every certificate it covers in place again (a node that missed one gets it then).
        if (run is not null)
        {
            await run.LogAsync(OperationLogLevel.Info, $"{due.Count} certificate(s) to issue or renew; {upToDate} up to date.", ct);
        }

        // What cannot be issued here whatever the CA says (a host outside the nodes' zone) is recorded first, with why.
        var failed = 0;
        foreach (var subject in due.Where(s => s.Problem is not null))
        {
            await FailAsync(subject, subject.Problem!, run, ct);
            failed++;
        }

        due = due.Where(s => s.Problem is null).ToList();
        if (due.Count == 0)
        {
            if (ignoreBackoff && subjects.Count > 0)
            {
                await InstallAsync(subjects, run, ct);
            }

            return new AutoSslRun(0, failed, upToDate);
        }

        if (due.Any(s => s.HostName is not null))
        {
            // The nodes' zone must be on the DNS server, with its host names, before a challenge goes into it.
            try
            {
                await PublishNodesZoneAsync(ct);
            }
            catch (InvalidOperationException ex)
            {
                foreach (var subject in due.Where(s => s.HostName is not null))
                {
                    await FailAsync(subject, $"The nodes' zone could not be published: {ex.Message}", run, ct);
                    failed++;
                }

                due = due.Where(s => s.HostName is null).ToList();
            }
        }

        AcmeClient client;
        try
        {
            client = await ClientAsync(ct);
        }
        catch (Exception ex) when (ex is AcmeException or HttpRequestException or TimeoutException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            // Nothing can be issued: each certificate due says why, and waits as after its own failure.
            var reason = $"The certificate authority at {Acme.DirectoryUrl} could not be reached or refused this node's account: {ex.Message}";
            foreach (var subject in due)
            {
                await RecordAsync(subject, null, reason, ct);
            }

            _logger.LogWarning("AutoSSL: {Reason}", reason);
            if (run is not null)
            {
                await run.LogAsync(OperationLogLevel.Error, reason, ct);
            }

            return new AutoSslRun(0, failed + due.Count, upToDate);
        }

        var issued = 0;
        var issuedFor = new List<Subject>();
        foreach (var subject in due)
        {
            try
            {
                var certificate = await client.IssueAsync(subject.Names, zone, progress: null, ct);
                await RecordAsync(subject, certificate, null, ct);
                _logger.LogInformation("AutoSSL: {Subject}'s certificate for {Names} issued by {Issuer}, valid until {NotAfter:u}", subject.Label, string.Join(", ", subject.Names), certificate.Issuer, certificate.NotAfter);
                issued++;
                issuedFor.Add(subject);
                if (run is not null)
                {
                    await run.LogAsync(OperationLogLevel.Info, $"{subject.Label}: a certificate for {string.Join(", ", subject.Names)}, valid until {certificate.NotAfter:yyyy-MM-dd}.", ct);
                }
            }
            catch (Exception ex) when (ex is AcmeException or HttpRequestException or TimeoutException or InvalidOperationException or PortalNotFoundException or CryptographicException)
            {
                await FailAsync(subject, ex.Message, run, ct);
                failed++;
            }

            if (run is not null)
            {
                await run.ReportAsync(new StepProgress(issued + failed, total), ct);
            }
        }

        var toInstall = ignoreBackoff ? subjects : issuedFor;
        if (toInstall.Count > 0)
        {
            await InstallAsync(toInstall, run, ct);
        }

        return new AutoSslRun(issued, failed, upToDate);
    }

    private async Task FailAsync(Subject subject, string error, IOperationRun? run, CancellationToken ct)
    {
        await RecordAsync(subject, null, error, ct);
        _logger.LogWarning("AutoSSL: {Subject}'s certificate was not issued: {Error}", subject.Label, error);
        if (run is not null)
        {
            await run.LogAsync(OperationLogLevel.Warning, $"{subject.Label}: not issued: {error}", ct);
        }
    }

    /// <summary>
    /// Puts the certificates where they are served: accounts' in the mail servers (<see cref="MailCertificates"/>),
    /// panels' in their files (<see cref="PanelCertificates"/>). A server that does not take them fails no certificate:
    /// it is kept, said, and installed again by the next run that issues one or an admin's run.
    /// </summary>
    private async Task InstallAsync(IReadOnlyCollection<Subject> subjects, IOperationRun? run, CancellationToken ct)
    {
        var usernames = subjects.Where(s => s.Username is not null).Select(s => s.Username!).ToList();
        if (usernames.Count > 0)
        {
            try
            {
                await served.InstallAsync(usernames, ct);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException or ExternalProgramTimeoutException)
            {
                _logger.LogWarning("AutoSSL: the mail servers did not take the new certificates: {Error}", ex.Message);
                if (run is not null)
                {
                    await run.LogAsync(OperationLogLevel.Warning, $"The mail servers did not take the new certificates: {ex.Message}", ct);
                }
            }
        }

        var hosts = subjects.Where(s => s.HostName is not null && s.Problem is null).Select(s => s.HostName!).ToList();
        if (hosts.Count > 0)
        {
            foreach (var line in await served.InstallPanelsAsync(hosts, ct))
            {
                if (run is not null)
                {
                    await run.LogAsync(OperationLogLevel.Info, line, ct);
                }
            }
        }
    }

    /// <summary>
    /// The panels' host names AutoSSL certifies: this node's (<c>Portal:Tls:CertificateFromAutoSsl</c>) and each
    /// child's that asked, each only in the nodes' zone and only for one node (the one linked first; this node before
    /// its children). A name that breaks a rule is kept with why, so the AutoSSL page says it. Rows of names no node
    /// asks for any more are removed.
    /// </summary>
    private async Task<List<Subject>> HostsAsync(PortalDbContext db, CancellationToken ct)
    {
        var nodesZone = settings.Value.Dns.NodesZone is { Length: > 0 } configured ? configured.TrimEnd('.').ToLowerInvariant() : null;
        var asked = await AskedHostsAsync(db, ct);
        var certificates = await db.TlsCertificates.AsNoTracking().Where(c => c.HostName != null).ToDictionaryAsync(c => c.HostName!, ct);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var subjects = new List<Subject>();
        foreach (var (host, node, refused) in asked)
        {
            // A refused name is never issued or recorded (its row, if any, is the node's that has it); the page lists why.
            if (refused is not null || !taken.Add(host))
            {
                _logger.LogWarning("AutoSSL: {Refusal}", refused ?? $"{node} asks for a panel certificate for {host}, which another node has.");
                continue;
            }

            var problem = nodesZone is null
                ? $"{node} asks for a panel certificate for {host}, but this node has no nodes' zone (Portal:Dns:NodesZone) to prove it in through DNS-01. Set one, delegated to this node, that {host} lies in."
                : !PanelHost.IsIn(host, nodesZone)
                    ? $"{host} ({node}) is not in this node's nodes' zone {nodesZone}, so DNS-01 cannot prove it here. Give the node a host name in that zone (its Portal:PublicUrl)."
                    : null;
            subjects.Add(new Subject($"{node} ({host})", [host], null, host, null, node, certificates.GetValueOrDefault(host), problem));
        }

        var stale = certificates.Keys.Except(taken).ToList();
        if (stale.Count > 0)
        {
            await db.TlsCertificates.Where(c => c.HostName != null && stale.Contains(c.HostName)).ExecuteDeleteAsync(ct);
        }

        return subjects;
    }

    /// <summary>
    /// The panel host names nodes ask for, with who asks: this node first, then its children as they were linked, each
    /// with why it is refused (<see cref="PanelHost.ChildClaims"/>; null: taken).
    /// </summary>
    private async Task<List<(string Host, string Node, string? Refused)>> AskedHostsAsync(PortalDbContext db, CancellationToken ct)
    {
        var asked = new List<(string Host, string Node, string? Refused)>();
        if (PanelHost.Requested(settings.Value) is { } requested)
        {
            asked.Add((requested, "this node", null));
        }

        var children = await db.LinkedNodes.AsNoTracking().OrderBy(n => n.LinkedAt)
            .Select(n => new { n.Alias, n.BaseUrl, n.PanelHostName }).ToListAsync(ct);
        asked.AddRange(PanelHost.ChildClaims(PanelHost.Of(settings.Value), children.Select(c => (c.Alias, c.BaseUrl, c.PanelHostName)).ToList())
            .Select(c => (c.Host, c.Node, c.Problem is null ? null : $"{c.Node} asks for a panel certificate for {c.Problem}; Portal refuses it. Give {c.Node} a host name of its own (its Portal:PublicUrl).")));
        return asked;
    }

    private async Task PublishNodesZoneAsync(CancellationToken ct)
    {
        if (await dnsZones.SyncNodesZoneAsync(ct) is { } changed)
        {
            await publisher.PublishZoneAsync(changed, ct);
        }
    }

    /// <summary>What one certificate is for: an account's four names, or a node's panel host name.</summary>
    /// <param name="Problem">Why it cannot be issued here (a host outside the nodes' zone), recorded as its failure.</param>
    private sealed record Subject(string Label, IReadOnlyList<string> Names, long? AccountId, string? HostName, string? Username, string? Node, TlsCertificate? Certificate, string? Problem)
    {
        public static Subject ForAccount(Account account, TlsCertificate? certificate) =>
            new(account.Username, NamesOf(account.Domain), account.Id, null, account.Username, null, certificate, null);
    }

    /// <summary>The accounts AutoSSL looks after here: this node's own (not a child's twins), whose zone is on this node.</summary>
    private static IQueryable<Account> Covered(PortalDbContext db) =>
        db.Accounts.AsNoTracking().Where(a => a.ParentNodeId == null && db.DnsZones.Any(z => z.AccountId == a.Id));

    /// <summary>Without a certificate, for other names, or within <c>RenewBefore</c> of its end.</summary>
    private bool IsDue(Subject subject, DateTimeOffset now) =>
        subject.Certificate?.NotAfter is not { } notAfter
        || !subject.Certificate.Names.SequenceEqual(subject.Names)
        || notAfter - now < Acme.RenewBefore;

    private async Task RecordAsync(Subject subject, IssuedCertificate? issued, string? error, CancellationToken ct)
    {
        var names = subject.Names;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = subject.AccountId is { } accountId
            ? await db.TlsCertificates.SingleOrDefaultAsync(c => c.AccountId == accountId, ct)
            : await db.TlsCertificates.SingleOrDefaultAsync(c => c.HostName == subject.HostName, ct);
        if (row is null)
        {
            row = new TlsCertificate { AccountId = subject.AccountId, HostName = subject.HostName };
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

    /// <summary>
    /// The panels' certificates, for admins: one per host name a node asks for (this node's first, then its children's
    /// as they were linked), including those not tried yet.
    /// </summary>
    public async Task<IReadOnlyList<HostCertificateRow>> ListHostsAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var certificates = await db.TlsCertificates.AsNoTracking().Where(c => c.HostName != null).ToDictionaryAsync(c => c.HostName!, ct);
        var asked = await AskedHostsAsync(db, ct);
        var now = clock.GetUtcNow();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        HostCertificateRow Row((string Host, string Node, string? Refused) asking)
        {
            if (asking.Refused is not null || !listed.Add(asking.Host))
            {
                return new HostCertificateRow(asking.Host, asking.Node, "Refused", null, null, null, asking.Refused ?? $"{asking.Host} is another node's panel host name.", null);
            }

            var c = certificates.GetValueOrDefault(asking.Host);
            return new HostCertificateRow(asking.Host, asking.Node, StateOf(c, now), c?.Issuer, c?.NotAfter, c?.LastAttemptAt, c?.LastError, c?.NextAttemptAt);
        }

        return asked.Select(Row).ToList();
    }

    /// <summary>The account's certificate and chain (PEM, public), to check or install elsewhere.</summary>
    public async Task<string> ChainAsync(string username, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.TlsCertificates.AsNoTracking().Where(c => Covered(db).Any(a => a.Id == c.AccountId && a.Username == username))
                .Select(c => c.ChainPem).SingleOrDefaultAsync(ct)
            ?? throw new PortalNotFoundException($"Account {username} has no certificate yet; run AutoSSL for it, or see its last attempt on the AutoSSL page.");
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
