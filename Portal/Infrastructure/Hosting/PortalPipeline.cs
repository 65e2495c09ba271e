using Microsoft.AspNetCore.Authorization;
using Portal.Components;
using Portal.Components.Accounts;
using Portal.Components.Identity;

namespace Portal.Infrastructure.Hosting;

public static class PortalPipeline
{
    /// <summary>Only the configured proxies are believed (the framework's default trusts loopback, which is cleared).</summary>
    private static ForwardedHeadersOptions ForwardedHeadersFrom(IEnumerable<string> proxies)
    {
        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto,
        };
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var proxy in proxies)
        {
            if (System.Net.IPAddress.TryParse(proxy, out var address))
            {
                options.KnownProxies.Add(address);
            }
            else
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(proxy));
            }
        }

        return options;
    }

    /// <summary>The request pipeline and endpoints of a node.</summary>
    public static WebApplication UsePortal(this WebApplication app)
    {
        // Reading the settings here validates them, so a misconfigured node stops before it listens.
        var settings = app.Services.GetRequiredService<IOptions<PortalSettings>>().Value;
        UseMiddleware(app, settings);
        MapEndpoints(app, settings);
        return app;
    }

    /// <summary>The middleware, in the order a request meets it.</summary>
    private static void UseMiddleware(WebApplication app, PortalSettings settings)
    {
        if (settings.Security.TrustedProxies.Count > 0)
        {
            app.UseForwardedHeaders(ForwardedHeadersFrom(settings.Security.TrustedProxies));
        }

        // After the forwarded headers, so the line names the real client.
        app.UsePortalAccessLog(settings.Telemetry);
        // The gauges exist once made; they are read when metrics are collected.
        app.Services.GetRequiredService<PortalGauges>();

        if (settings.Tls.Enabled)
        {
            // Health probes (a load balancer on an internal port, systemd) are answered on plain HTTP as well.
            app.UseWhen(context => !context.Request.Path.StartsWithSegments("/healthz"), branch => branch.UseHttpsRedirection());
        }

        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        }

        app.UseMiddleware<SecurityHeadersMiddleware>();
        // The job dashboard too: a non-admin gets the panel's "Not allowed" page there, not the browser's bare 403.
        app.UseWhen(
            context => !PortalServices.IsApiPath(context.Request.Path),
            branch => branch.UseStatusCodePagesWithReExecute("/error/{0}", createScopeForStatusCodePages: true));
        // Routing runs after the status code pages, so that a re-executed request (/error/403) finds its page.
        app.UseRouting();
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments("/_blazor"),
            branch => branch.UseMiddleware<CircuitOriginMiddleware>());

        app.UseWhen(context => PortalServices.IsApiPath(context.Request.Path), branch => branch.UseMiddleware<ApiErrorMiddleware>());
        // The public API's rate limits: per address before the token is even looked at, per token once it is known.
        UseApiRateLimit(app, (limits, context) => limits.AdmitByAddressAsync(context));
        app.UseSignInThrottle();
        app.UseAuthentication();
        app.UseAdminTwoFactorGate();
        app.UseAuthorization();
        UseApiRateLimit(app, (limits, context) => limits.AdmitByTokenAsync(context));
        app.UseAntiforgery();
    }

    /// <summary>A request to the public API goes on only if <paramref name="admit"/> lets it (which answers 429 if not).</summary>
    private static void UseApiRateLimit(WebApplication app, Func<ApiRateLimits, HttpContext, Task<bool>> admit) =>
        app.UseWhen(ApiRateLimits.Applies, branch => branch.Use(async (context, next) =>
        {
            if (await admit(context.RequestServices.GetRequiredService<ApiRateLimits>(), context))
            {
                await next(context);
            }
        }));

    /// <summary>Every endpoint: files, probes, the job dashboard, the APIs (each feature maps its own) and the pages.</summary>
    private static void MapEndpoints(WebApplication app, PortalSettings settings)
    {
        app.MapStaticAssets();
        app.MapPortalHealth(settings.NodeName);
        app.MapPortalMetrics();

        app.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [new AdminOnlyDashboardFilter()],
            DashboardTitle = $"Portal jobs · {settings.NodeName}",
            AppPath = "/admin",
            DisplayStorageConnectionString = false,
        }).RequireAuthorization(PortalPolicies.Admin);

        // The root sends each user to their role's home (or to sign in).
        app.MapGet("/", (HttpContext context) =>
        {
            var user = context.User;
            if (user.Identity?.IsAuthenticated != true)
            {
                return Results.Redirect("/auth/signin");
            }

            var role = PortalRoles.All.FirstOrDefault(user.IsInRole);
            return role is null ? Results.Redirect("/auth/denied") : Results.Redirect(PortalRoles.HomeOf(role));
        }).ExcludeFromDescription();

        app.MapIdentityEndpoints();
        app.MapZoneFileDownloads();
        app.MapWebmail();
        app.MapNodeApi();
        app.MapPublicApi();
        app.MapOpenApi(ApiDocument.Path).AllowAnonymous();

        app.MapRazorComponents<App>()
            .AddInteractiveServerRenderMode()
            .Add(endpoint =>
            {
                // Belt and braces: every page under an area's prefix requires that area's role at the HTTP level,
                // whatever attributes the page itself carries.
                if (endpoint is RouteEndpointBuilder route && route.RoutePattern.RawText is { } pattern
                    && PortalPolicies.AreaOf("/" + pattern.TrimStart('/')) is { } area)
                {
                    endpoint.Metadata.Add(new AuthorizeAttribute(area.Policy));
                }
            });
    }
}
