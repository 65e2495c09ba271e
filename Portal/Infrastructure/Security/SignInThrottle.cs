using System.Threading.RateLimiting;

namespace Portal.Infrastructure.Security;

/// <summary>
/// Sign-in attempts are limited per client address and per user name (ASP.NET Core's rate limiter, one-minute windows),
/// before the password is looked at: guessing is slowed, and the per-name limit holds however many addresses a
/// guesser uses. A refused attempt goes back to the sign-in page, which says why and when to try again.
/// </summary>
public static class SignInThrottle
{
    public const string Path = "/auth/signin";

    /// <summary>The second step (an authenticator or recovery code), limited per address too.</summary>
    public const string TwoFactorPath = "/auth/two-factor";

    /// <summary>The sign-in form's user name field.</summary>
    private const string UserNameField = "Input.UserName";

    public static IServiceCollection AddSignInThrottle(this IServiceCollection services)
    {
        services.AddRateLimiter(options =>
        {
            options.OnRejected = (context, _) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                context.HttpContext.Response.Redirect(Path + "?throttled=1");
                PortalTelemetry.SignInFailed("password", "throttled");
                return ValueTask.CompletedTask;
            };
            options.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                Limiter((context, security) => ("address:" + (context.Connection.RemoteIpAddress?.ToString() ?? "-"), security.SignInAttemptsPerMinutePerAddress)),
                // The second step's form has no user name (the two-factor cookie says who): its guesses are bounded by
                // the address limit and by the lockout that wrong codes count towards.
                Limiter((context, security) => IsPasswordStep(context)
                    ? ("name:" + context.Request.Form[UserNameField].ToString().Trim().ToLowerInvariant(), security.SignInAttemptsPerMinutePerUserName)
                    : (null, 0)));
        });
        return services;
    }

    /// <summary>Reads the sign-in form before the limiter (its partitions are chosen without waiting), then applies it.</summary>
    public static void UseSignInThrottle(this IApplicationBuilder app)
    {
        app.UseWhen(IsAttempt, branch => branch.Use(async (context, next) =>
        {
            await context.Request.ReadFormAsync(context.RequestAborted);
            await next(context);
        }));
        app.UseRateLimiter();
    }

    private static bool IsAttempt(HttpContext context) =>
        HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType
        && (context.Request.Path.Equals(Path, StringComparison.OrdinalIgnoreCase) || context.Request.Path.Equals(TwoFactorPath, StringComparison.OrdinalIgnoreCase));

    private static bool IsPasswordStep(HttpContext context) => context.Request.Path.Equals(Path, StringComparison.OrdinalIgnoreCase);

    private static PartitionedRateLimiter<HttpContext> Limiter(Func<HttpContext, SecuritySettings, (string? Key, int Limit)> partition) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            if (!IsAttempt(context))
            {
                return RateLimitPartition.GetNoLimiter("other");
            }

            var security = context.RequestServices.GetRequiredService<IOptions<PortalSettings>>().Value.Security;
            var (key, limit) = partition(context, security);
            if (key is null)
            {
                return RateLimitPartition.GetNoLimiter("other");
            }

            return RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = limit,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            });
        });
}
