using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Portal.Features.Mail;

/// <summary>
/// The state of the mail and DNS servers this node drives, on its health endpoint: registered only when the setting
/// that turns each integration on is set. A server that is down makes the node Degraded (it still serves its pages).
/// </summary>
public static class MailServerHealthChecks
{
    public static IHealthChecksBuilder AddMailServerChecks(this IHealthChecksBuilder checks, PortalSettings settings)
    {
        checks.Services.AddSingleton<ServerCheckCache>();
        if (!string.IsNullOrEmpty(settings.Mail.Doveadm))
        {
            checks.AddCheck<DovecotHealthCheck>("dovecot", HealthStatus.Degraded, tags: [HealthResponse.Ready]);
        }

        if (!string.IsNullOrEmpty(settings.Mail.Postmap))
        {
            checks.AddCheck<PostfixHealthCheck>("postfix", HealthStatus.Degraded, tags: [HealthResponse.Ready]);
        }

        if (!string.IsNullOrEmpty(settings.Dns.PowerDns.ApiUrl))
        {
            checks.AddCheck<PowerDnsHealthCheck>("powerdns", HealthStatus.Degraded, tags: [HealthResponse.Ready]);
        }

        return checks;
    }

    internal static HealthCheckResult From((bool Up, string Detail)? result) =>
        result is not { } r ? HealthCheckResult.Healthy("Not used on this node.")
        : r.Up ? HealthCheckResult.Healthy(r.Detail) : HealthCheckResult.Degraded(r.Detail);
}

/// <summary>
/// Each server is asked at most once per <see cref="Lifetime"/>, however often the health endpoint is polled (a load
/// balancer may ask every second, and asking Dovecot or Postfix starts a process); callers in the meantime share the
/// last answer, or the one being fetched. A check runs with the cancellation of the caller that started it (and the
/// process limits of <see cref="MailServerAdapter"/>); a caller whose own request is still wanted, when the check it waited
/// for was cancelled by another caller, asks once more itself.
/// </summary>
public sealed class ServerCheckCache(TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);
    private readonly Dictionary<string, (Task<(bool Up, string Detail)?> Check, DateTimeOffset At)> _last = new(StringComparer.Ordinal);

    public async Task<(bool Up, string Detail)?> GetAsync(string server, Func<CancellationToken, Task<(bool Up, string Detail)?>> check, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var shared = Shared(server, check, ct);
            try
            {
                return await shared.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested && attempt == 1)
            {
                // Cancelled by the caller that started it, not by ours: ask again.
            }
        }
    }

    private Task<(bool Up, string Detail)?> Shared(string server, Func<CancellationToken, Task<(bool Up, string Detail)?>> check, CancellationToken ct)
    {
        lock (_last)
        {
            var now = clock.GetUtcNow();
            if (_last.TryGetValue(server, out var last) && now - last.At < Lifetime && !last.Check.IsFaulted && !last.Check.IsCanceled)
            {
                return last.Check;
            }

            var fresh = check(ct);
            _last[server] = (fresh, now);
            return fresh;
        }
    }
}

internal sealed class DovecotHealthCheck(MailServerAdapter servers, ServerCheckCache cache) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
        MailServerHealthChecks.From(await cache.GetAsync("dovecot", servers.CheckDovecotAsync, ct));
}

internal sealed class PostfixHealthCheck(MailServerAdapter servers, ServerCheckCache cache) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
        MailServerHealthChecks.From(await cache.GetAsync("postfix", servers.CheckPostfixAsync, ct));
}

internal sealed class PowerDnsHealthCheck(DnsPublisher dns, ServerCheckCache cache) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
        MailServerHealthChecks.From(await cache.GetAsync("powerdns", async t => await dns.CheckAsync(t), ct));
}
