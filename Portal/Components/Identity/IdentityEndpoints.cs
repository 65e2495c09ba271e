using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Portal.Features.Audit;
using Portal.Features.Identity;
using Portal.Infrastructure.Security;

namespace Portal.Components.Identity;

internal static class IdentityEndpoints
{
    /// <summary>Sign-out is a POST with an antiforgery token (a link or image cannot sign a user out).</summary>
    public static void MapIdentityEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/auth/signout", async Task<IResult> (
            HttpContext context,
            [FromServices] SignInManager<PortalUser> signInManager,
            [FromServices] IAntiforgery antiforgery,
            [FromServices] AuditLog audit) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return TypedResults.BadRequest("The sign-out form has expired; reload the page and sign out again.");
            }

            var actor = Actor.From(context.User, context.Connection.RemoteIpAddress?.ToString());
            await signInManager.SignOutAsync();
            if (actor.IsAuthenticated)
            {
                await audit.RecordAsync(actor, "auth.signout", actor.Name, AuditOutcome.Succeeded);
            }

            return TypedResults.LocalRedirect("~/auth/signin");
        }).ExcludeFromDescription();
    }
}
