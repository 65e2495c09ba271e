namespace Portal.Infrastructure.Security;

/// <summary>
/// Sends an admin without two-factor sign-in, on a node that requires it, from any admin page to its set-up
/// (rather than to a bare 403), before the authorization that would refuse the page.
/// </summary>
public static class AdminTwoFactorGate
{
    public const string SetupPath = "/auth/two-factor/manage";

    public static void UseAdminTwoFactorGate(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var security = context.RequestServices.GetRequiredService<IOptions<PortalSettings>>().Value.Security;
        if (security.RequireTwoFactorForAdmins && HttpMethods.IsGet(context.Request.Method)
            && (PortalPolicies.AreaOf(context.Request.Path)?.Role == PortalRoles.Admin || context.Request.Path.StartsWithSegments("/hangfire"))
            && context.User.Identity?.IsAuthenticated == true && context.User.IsInRole(PortalRoles.Admin)
            && !await HasTwoFactorAsync(context.RequestServices.GetRequiredService<IServiceScopeFactory>(), context.User))
        {
            context.Response.Redirect(SetupPath + "?required=1");
            return;
        }

        await next(context);
    });

    internal static async Task<bool> HasTwoFactorAsync(IServiceScopeFactory scopes, ClaimsPrincipal principal)
    {
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        return await users.GetUserAsync(principal) is { TwoFactorEnabled: true };
    }
}
