using Microsoft.AspNetCore.Authorization;

namespace Portal.Infrastructure.Security;

/// <summary>Authorization policies: one per area (each admitting exactly one role), and the APIs'.</summary>
public static class PortalPolicies
{
    public const string Admin = "area:admin";
    public const string Reseller = "area:reseller";
    public const string Account = "area:account";

    /// <summary>The node API: a node token of an admin of this node, and nothing else.</summary>
    public const string NodeApi = "node-api";

    /// <summary>The public API: a user API token.</summary>
    public const string Api = "api";

    /// <summary>The public API's admin routes.</summary>
    public const string ApiAdmin = "api:admin";

    /// <summary>The public API's routes for admins and resellers (accounts).</summary>
    public const string ApiManage = "api:manage";

    /// <summary>Which policy guards which URL prefix; the server applies it to every page under the prefix.</summary>
    public static readonly IReadOnlyList<(string Prefix, string Policy, string Role)> Areas =
    [
        ("/admin", Admin, PortalRoles.Admin),
        ("/reseller", Reseller, PortalRoles.Reseller),
        ("/account", Account, PortalRoles.User),
    ];

    public static void Add(AuthorizationOptions options)
    {
        foreach (var (_, policy, role) in Areas)
        {
            options.AddPolicy(policy, p =>
            {
                p.RequireAuthenticatedUser().RequireRole(role);
                if (role == PortalRoles.Admin)
                {
                    // On a node that requires it, an admin without two-factor sign-in reaches no admin page.
                    p.AddRequirements(new AdminTwoFactorRequirement());
                }
                else
                {
                    // On a child node, resellers and account owners work on the parent only.
                    p.AddRequirements(new NotOnChildNodeRequirement());
                }
            });
        }

        options.AddPolicy(NodeApi, p => p.AddAuthenticationSchemes(ApiTokenAuthenticationHandler.NodeScheme).RequireAuthenticatedUser().RequireRole(PortalRoles.Admin));
        options.AddPolicy(Api, p => p.AddAuthenticationSchemes(ApiTokenAuthenticationHandler.UserScheme).RequireAuthenticatedUser());
        options.AddPolicy(ApiAdmin, p => p.AddAuthenticationSchemes(ApiTokenAuthenticationHandler.UserScheme).RequireAuthenticatedUser().RequireRole(PortalRoles.Admin));
        options.AddPolicy(ApiManage, p => p.AddAuthenticationSchemes(ApiTokenAuthenticationHandler.UserScheme).RequireAuthenticatedUser().RequireRole(PortalRoles.Admin, PortalRoles.Reseller));
    }

    /// <summary>The area a path belongs to, if any.</summary>
    public static (string Prefix, string Policy, string Role)? AreaOf(string path) =>
        Areas.Cast<(string Prefix, string Policy, string Role)?>().FirstOrDefault(a =>
            path.Equals(a!.Value.Prefix, StringComparison.OrdinalIgnoreCase)
            || path.StartsWith(a.Value.Prefix + "/", StringComparison.OrdinalIgnoreCase));
}
