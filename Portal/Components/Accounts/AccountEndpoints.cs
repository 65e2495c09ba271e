using Portal.Features.Dns;
using Portal.Infrastructure.Security;

namespace Portal.Components.Accounts;

internal static class AccountEndpoints
{
    /// <summary>
    /// Zone file downloads for the account pages (a browser link with the session cookie); the API has its own.
    /// Each is under its area's prefix and policy.
    /// </summary>
    public static void MapZoneFileDownloads(this IEndpointRouteBuilder app)
    {
        foreach (var (prefix, policy) in new[] { ("/admin", PortalPolicies.Admin), ("/reseller", PortalPolicies.Reseller) })
        {
            app.MapGet(prefix + "/accounts/{username}/zone-file", async (string username, DnsZoneService zones, ICurrentActor actor, CancellationToken ct) =>
            {
                try
                {
                    var text = await zones.ExportAsync(await actor.GetAsync(), username, ct);
                    return Results.File(System.Text.Encoding.UTF8.GetBytes(text), "text/dns", $"{username}.zone");
                }
                catch (PortalNotFoundException)
                {
                    return Results.NotFound();
                }
            }).RequireAuthorization(policy).ExcludeFromDescription();
        }
    }
}
