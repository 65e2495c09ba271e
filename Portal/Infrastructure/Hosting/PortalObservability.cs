using Microsoft.AspNetCore.HttpLogging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Portal.Infrastructure.Hosting;

/// <summary>
/// Telemetry of a node (<c>Portal:Telemetry</c>): OpenTelemetry metrics (Portal's own, ASP.NET Core's, HttpClient's,
/// the runtime's) served to Prometheus; traces of requests, calls to other nodes, database queries and jobs, exported
/// over OTLP when a collector is configured (W3C trace context travels with every node-to-node call, so a proxied call
/// is one trace across both nodes); and an access log line per request.
/// </summary>
public static class PortalObservability
{
    public const string MetricsPath = "/metrics";

    public static void AddPortalObservability(this WebApplicationBuilder builder, PortalSettings settings)
    {
        var telemetry = settings.Telemetry;
        builder.Services.AddSingleton<PortalGauges>();
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService("portal", serviceVersion: typeof(PortalObservability).Assembly.GetName().Version?.ToString(), serviceInstanceId: settings.NodeName)
                .AddAttributes([new("portal.node", settings.NodeName)]))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(PortalTelemetry.Name)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddPrometheusExporter();
                if (telemetry.PrometheusListener is { Length: > 0 } listener)
                {
                    var at = new Uri(listener);
                    metrics.AddPrometheusHttpListener(o => (o.Host, o.Port, o.ScrapeEndpointPath) = (at.Host, at.Port, MetricsPath));
                }
            });

        if (telemetry.OtlpEndpoint is not { Length: > 0 } endpoint)
        {
            // Without a collector nothing would read the spans: none are made (trace context is still passed on).
            return;
        }

        otel.WithTracing(tracing => tracing
                .AddSource(PortalTelemetry.Name)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsPlumbing(context.Request.Path))
                .AddHttpClientInstrumentation()
                .AddNpgsql())
            .UseOtlpExporter(telemetry.OtlpProtocol == OtlpProtocolSetting.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf, new Uri(endpoint));
    }

    public static void UsePortalAccessLog(this WebApplication app, TelemetrySettings telemetry)
    {
        if (telemetry.AccessLog)
        {
            app.UseHttpLogging();
        }
    }

    public static void AddPortalAccessLog(this IServiceCollection services)
    {
        services.AddHttpLogging(o =>
        {
            // Never the query string, headers or bodies: they may carry tokens or passwords.
            o.LoggingFields = HttpLoggingFields.RequestMethod | HttpLoggingFields.RequestPath | HttpLoggingFields.ResponseStatusCode | HttpLoggingFields.Duration;
            o.CombineLogs = true;
        });
        services.AddHttpLoggingInterceptor<AccessLogInterceptor>();
    }

    /// <summary>The Prometheus scrape endpoint, for an admin's API token.</summary>
    public static void MapPortalMetrics(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(PortalPolicies.ApiAdmin);

    /// <summary>Requests that are not worth a span or an access log line: probes, static files, the live UI connection.</summary>
    internal static bool IsPlumbing(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content")
        || path.StartsWithSegments("/_blazor") || path.StartsWithSegments(MetricsPath) || Path.HasExtension(path.Value);

    /// <summary>Adds who asked and from where to each access log line, and leaves the plumbing out.</summary>
    private sealed class AccessLogInterceptor : IHttpLoggingInterceptor
    {
        public ValueTask OnRequestAsync(HttpLoggingInterceptorContext logContext)
        {
            if (IsPlumbing(logContext.HttpContext.Request.Path))
            {
                logContext.LoggingFields = HttpLoggingFields.None;
                return ValueTask.CompletedTask;
            }

            logContext.AddParameter("ClientAddress", logContext.HttpContext.Connection.RemoteIpAddress?.ToString());
            return ValueTask.CompletedTask;
        }

        public ValueTask OnResponseAsync(HttpLoggingInterceptorContext logContext)
        {
            // The trace id is in the line's scopes already.
            if (logContext.LoggingFields != HttpLoggingFields.None)
            {
                logContext.AddParameter("User", logContext.HttpContext.User.Identity?.Name ?? "-");
            }

            return ValueTask.CompletedTask;
        }
    }
}
