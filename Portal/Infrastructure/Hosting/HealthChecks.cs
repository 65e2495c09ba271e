using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Portal.Infrastructure.Hosting;

internal sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy("The database does not answer.");
        }
    }
}

internal sealed class JobStorageHealthCheck(JobStorage storage) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var monitoring = storage.GetMonitoringApi();
            var servers = monitoring.Servers().Count;
            var stats = monitoring.GetStatistics();
            var data = new Dictionary<string, object> { ["servers"] = servers, ["enqueued"] = stats.Enqueued, ["processing"] = stats.Processing, ["failed"] = stats.Failed };
            return Task.FromResult(servers > 0
                ? HealthCheckResult.Healthy(data: data)
                : HealthCheckResult.Degraded("No job server is running.", data: data));
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The job storage does not answer."));
        }
    }
}

/// <summary>
/// The node's three health answers: <c>/healthz/live</c> (the process serves requests; for systemd and a load
/// balancer's liveness probe: it runs no check), <c>/healthz/ready</c> (everything the node needs to do its work
/// answers: the database, the job server, and the mail and DNS servers it drives; 503 otherwise, Degraded included),
/// and <c>/healthz</c>, the full report (200 while the node serves its pages, Degraded included).
/// </summary>
internal static class HealthResponse
{
    /// <summary>The tag of the checks readiness depends on (all of them, today).</summary>
    public const string Ready = "ready";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static void MapPortalHealth(this IEndpointRouteBuilder endpoints, string nodeName)
    {
        endpoints.MapHealthChecks("/healthz", Options(nodeName, degradedIsReady: true));
        endpoints.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = Options(nodeName, true).ResponseWriter });
        endpoints.MapHealthChecks("/healthz/ready", Options(nodeName, degradedIsReady: false, check => check.Tags.Contains(Ready)));
    }

    /// <summary>Status per check for monitoring; never exception text, which could leak internals.</summary>
    public static HealthCheckOptions Options(string nodeName, bool degradedIsReady, Func<HealthCheckRegistration, bool>? predicate = null) => new()
    {
        Predicate = predicate,
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = degradedIsReady ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
        ResponseWriter = (context, report) =>
        {
            context.Response.ContentType = "application/json";
            var body = new
            {
                status = report.Status.ToString(),
                node = nodeName,
                checks = report.Entries.ToDictionary(
                    e => e.Key,
                    e => new { status = e.Value.Status.ToString(), description = e.Value.Description, durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 2), data = e.Value.Data }),
            };
            return context.Response.WriteAsync(JsonSerializer.Serialize(body, Json));
        },
    };
}
