using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Portal.Features.Alerts;

/// <summary>
/// Looks for lasting problems every <c>Portal:Alerts:CheckInterval</c> and raises or resolves their alerts: a child
/// offline for longer than <c>ChildOfflineAfter</c> (as the parent's health checks of its children recorded it),
/// this node's own mail and DNS servers not answering (their health checks), and a certificate AutoSSL has not renewed
/// in time.
/// </summary>
public sealed class AlertWatcher(
    IDbContextFactory<PortalDbContext> dbFactory,
    AlertService alerts,
    HealthCheckService health,
    IOptions<PortalSettings> settings,
    TimeProvider clock,
    ILogger<AlertWatcher> logger) : BackgroundService
{
    public const string NodeOffline = "node-offline:";
    public const string ServerDown = "server-down:";

    /// <summary>The servers a node drives, by the names of their health checks.</summary>
    private static readonly Dictionary<string, string> Servers = new(StringComparer.Ordinal)
    {
        ["dovecot"] = "Dovecot (IMAP, POP3, LMTP)",
        ["postfix"] = "Postfix (SMTP)",
        ["powerdns"] = "PowerDNS",
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.Value.Alerts.CheckInterval, clock);
        do
        {
            try
            {
                await CheckAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Looking for problems to alert about failed; trying again in {Interval}", settings.Value.Alerts.CheckInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public const string CertificateExpiring = "certificate-expiring:";

    public async Task CheckAsync(CancellationToken ct)
    {
        await CheckChildrenAsync(ct);
        await CheckServersAsync(ct);
        await CheckCertificatesAsync(ct);
    }

    /// <summary>
    /// A certificate AutoSSL has not managed to renew by half of <c>Portal:Tls:Acme:RenewBefore</c> before its end is an
    /// alert (with why the last attempt failed), resolved once a renewal went through.
    /// </summary>
    private async Task CheckCertificatesAsync(CancellationToken ct)
    {
        var warnBefore = settings.Value.Tls.Acme.RenewBefore / 2;
        var now = clock.GetUtcNow();
        List<(string Key, string Username, DateTimeOffset NotAfter, string? LastError)> certificates;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            // An account's by its id (as before panels had certificates); a panel's by its host name.
            certificates = (await db.TlsCertificates.AsNoTracking().Where(c => c.NotAfter != null)
                .Select(c => new { c.AccountId, c.HostName, Username = db.Accounts.Where(a => a.Id == c.AccountId).Select(a => a.Username).FirstOrDefault(), NotAfter = c.NotAfter!.Value, c.LastError })
                .ToListAsync(ct))
                .Select(c => c.AccountId is { } id ? (CertificateExpiring + id, c.Username ?? "", c.NotAfter, c.LastError) : (CertificateExpiring + "host:" + c.HostName, $"the panel at {c.HostName}", c.NotAfter, c.LastError))
                .ToList();
        }

        // Only the open alerts are looked at to resolve (one query), not every certificate.
        var open = (await alerts.OpenKeysAsync(CertificateExpiring, ct)).ToHashSet(StringComparer.Ordinal);
        foreach (var (key, username, notAfter, lastError) in certificates)
        {
            // What is left in the set after the loop belongs to no certificate any more.
            var wasOpen = open.Remove(key);
            if (notAfter - now < warnBefore)
            {
                var ends = notAfter <= now ? $"ended on {notAfter:yyyy-MM-dd HH:mm} UTC" : $"ends on {notAfter:yyyy-MM-dd HH:mm} UTC";
                await alerts.RaiseAsync(key, $"The certificate of {username} {(notAfter <= now ? "has expired" : "expires soon")}",
                    $"AutoSSL has not renewed the certificate of {username}; it {ends}. Last attempt: {lastError ?? "none failed yet"}. " +
                    "See the AutoSSL page, mend the cause (the DNS, the certificate authority's answer) and run AutoSSL for it.",
                    "/admin/ssl", ct);
            }
            else if (wasOpen)
            {
                await alerts.ResolveAsync(key, $"The certificate of {username} was renewed", $"It is valid until {notAfter:yyyy-MM-dd} UTC.", ct);
            }
        }

        // An account that is gone (terminated), or a node no longer linked, took its certificate with it.
        foreach (var key in open)
        {
            await alerts.ResolveAsync(key, "A certificate that was expiring is gone", "Its account or node no longer has one on this node.", ct);
        }
    }

    private async Task CheckChildrenAsync(CancellationToken ct)
    {
        List<LinkedNode> children;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            children = await db.LinkedNodes.AsNoTracking().ToListAsync(ct);
        }

        var now = clock.GetUtcNow();
        var limit = settings.Value.Alerts.ChildOfflineAfter;
        foreach (var child in children)
        {
            var key = NodeOffline + child.Id;
            var since = child.LastOnlineAt ?? child.LinkedAt;
            if (child.Status == NodeStatus.Offline && now - since >= limit)
            {
                await alerts.RaiseAsync(key, $"The child node {child.Alias} is offline",
                    $"{child.Alias} ({child.BaseUrl}) has not answered since {since:yyyy-MM-dd HH:mm} UTC: {child.LastError ?? "no answer"}. " +
                    "Mail of the accounts it serves cannot be read or delivered through it meanwhile. Check that server and its Portal; " +
                    "if it is lost for good, bring its accounts back with forced dedistribution.",
                    "/admin/linked-nodes", ct);
            }
            else if (child.Status == NodeStatus.Online)
            {
                await alerts.ResolveAsync(key, $"The child node {child.Alias} is back online", $"{child.Alias} ({child.BaseUrl}) answers again.", ct);
            }
        }

        // A child that was unlinked meanwhile is nobody's problem any more.
        foreach (var key in await alerts.OpenKeysAsync(NodeOffline, ct))
        {
            if (!children.Any(c => key == NodeOffline + c.Id))
            {
                await alerts.ResolveAsync(key, "An offline child node was unlinked", "The child node that was offline is no longer linked to this node.", ct);
            }
        }
    }

    private async Task CheckServersAsync(CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(check => Servers.ContainsKey(check.Name), ct);
        foreach (var (name, entry) in report.Entries)
        {
            var server = Servers[name];
            if (entry.Status == HealthStatus.Healthy)
            {
                await alerts.ResolveAsync(ServerDown + name, $"{server} answers again", $"{server} on this node answers again.", ct);
            }
            else
            {
                await alerts.RaiseAsync(ServerDown + name, $"{server} is not answering",
                    $"{server} on this node does not answer: {entry.Description} Mail or DNS of the accounts served here is affected; " +
                    "see the node's log for the details and start the server again.",
                    "/admin", ct);
            }
        }
    }
}
