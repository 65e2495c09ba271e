using System.Threading.RateLimiting;

namespace Portal.Infrastructure.Api;

/// <summary>
/// Rate limits of the public API, in fixed one-minute windows: per client address before authentication (so requests
/// with guessed tokens count too), and per API token after it. A request beyond a limit gets 429, a Retry-After
/// header and the API's error shape.
/// </summary>
public sealed class ApiRateLimits : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext> _perAddress;
    private readonly PartitionedRateLimiter<HttpContext> _perToken;

    public ApiRateLimits(IOptions<PortalSettings> settings)
    {
        var security = settings.Value.Security;
        _perAddress = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => Window(security.ApiRequestsPerMinutePerAddress)));
        _perToken = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            context.User.FindFirstValue(ApiTokenAuthenticationHandler.TokenIdClaim) is { } token
                ? RateLimitPartition.GetFixedWindowLimiter(token, _ => Window(security.ApiRequestsPerMinutePerToken))
                : RateLimitPartition.GetNoLimiter("no-token"));
    }

    internal static bool Applies(HttpContext context) => context.Request.Path.StartsWithSegments("/api/v1");

    public Task<bool> AdmitByAddressAsync(HttpContext context) => AdmitAsync(_perAddress, context, "this address");

    public Task<bool> AdmitByTokenAsync(HttpContext context) => AdmitAsync(_perToken, context, "this API token");

    public void Dispose()
    {
        _perAddress.Dispose();
        _perToken.Dispose();
    }

    private static FixedWindowRateLimiterOptions Window(int permits) =>
        new() { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true };

    private static async Task<bool> AdmitAsync(PartitionedRateLimiter<HttpContext> limiter, HttpContext context, string who)
    {
        using var lease = limiter.AttemptAcquire(context);
        if (lease.IsAcquired)
        {
            return true;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await ApiResults.WriteAsync(context, StatusCodes.Status429TooManyRequests,
            new ApiError("rate_limited", $"Too many requests from {who}; try again in {seconds} s. Spread batch work out, or ask the node's admin to raise Portal:Security:ApiRequestsPerMinute*."));
        return false;
    }
}
