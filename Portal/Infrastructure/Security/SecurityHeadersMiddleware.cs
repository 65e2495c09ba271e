namespace Portal.Infrastructure.Security;

/// <summary>
/// Headers every response carries. The content security policy allows scripts from this node only (no inline
/// script); MudBlazor positions elements with inline styles, so styles allow 'unsafe-inline'. The Hangfire dashboard
/// ships inline scripts, so its pages get a policy of their own. Every HTTPS answer (served here, or by a trusted proxy
/// that terminates TLS) tells browsers to keep to HTTPS for <c>Portal:Tls:HstsMaxAge</c>.
/// </summary>
internal sealed class SecurityHeadersMiddleware(RequestDelegate next, IOptions<PortalSettings> settings)
{
    private readonly string? _strictTransportSecurity = settings.Value.Tls.HstsMaxAge > TimeSpan.Zero
        ? $"max-age={(long)settings.Value.Tls.HstsMaxAge.TotalSeconds}"
        : null;

    private const string AppPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

    private const string DashboardPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()";
            headers.ContentSecurityPolicy = context.Request.Path.StartsWithSegments("/hangfire") ? DashboardPolicy : AppPolicy;
            if (context.Request.IsHttps && _strictTransportSecurity is not null)
            {
                headers.StrictTransportSecurity = _strictTransportSecurity;
            }

            return Task.CompletedTask;
        });
        return next(context);
    }
}

/// <summary>
/// Refuses the live UI connection (Blazor's <c>/_blazor</c> hub: negotiate and WebSocket handshake) when the browser
/// says it comes from another origin, so a foreign page cannot drive a signed-in user's circuit.
/// </summary>
internal sealed class CircuitOriginMiddleware(RequestDelegate next, ILogger<CircuitOriginMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context, IOptions<PortalSettings> settings)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && !IsAllowed(origin, context.Request, settings.Value))
        {
            logger.LogWarning("Refused a live UI connection from foreign origin {Origin}", origin);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return context.Response.WriteAsync("This connection must come from a page of this node.");
        }

        return next(context);
    }

    internal static bool IsAllowed(string origin, HttpRequest request, PortalSettings settings)
    {
        var own = $"{request.Scheme}://{request.Host}";
        if (string.Equals(origin, own, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (settings.PublicUrl is { } publicUrl && Uri.TryCreate(publicUrl, UriKind.Absolute, out var uri)
            && string.Equals(origin, uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return settings.Security.AllowedOrigins.Any(o => string.Equals(o.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase));
    }
}
