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
