using Microsoft.AspNetCore.Authorization;
using Portal.Features.Identity;

namespace Portal.Infrastructure.Security;

/// <summary>Authorization policies: one per area, each admitting exactly one role.</summary>
public static class PortalPolicies
{
    public const string Admin = "area:admin";
    public const string Reseller = "area:reseller";
    public const string Account = "area:account";

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
            options.AddPolicy(policy, p => p.RequireAuthenticatedUser().RequireRole(role));
        }
    }

    /// <summary>The area a path belongs to, if any.</summary>
    public static (string Prefix, string Policy, string Role)? AreaOf(string path) =>
        Areas.Cast<(string Prefix, string Policy, string Role)?>().FirstOrDefault(a =>
            path.Equals(a!.Value.Prefix, StringComparison.OrdinalIgnoreCase)
            || path.StartsWith(a.Value.Prefix + "/", StringComparison.OrdinalIgnoreCase));
}
