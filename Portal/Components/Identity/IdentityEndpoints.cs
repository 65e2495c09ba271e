using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;

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

        // "View as": the admin's session becomes the user's, marked with who the admin is (ViewAs), for at most an hour.
        endpoints.MapPost("/auth/view-as", async Task<IResult> (
            HttpContext context,
            [FromForm] string? user,
            [FromServices] SignInManager<PortalUser> signInManager,
            [FromServices] IAntiforgery antiforgery,
            [FromServices] UserAdminService userAdmin,
            [FromServices] TimeProvider clock) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return TypedResults.BadRequest("The form has expired; reload the users page and try again.");
            }

            var actor = Actor.From(context.User, context.Connection.RemoteIpAddress?.ToString());
            try
            {
                var start = await userAdmin.BeginViewAsAsync(actor, user ?? "");
                await signInManager.SignInWithClaimsAsync(start.User, isPersistent: false, ViewAs.ClaimsFor(start.Admin, clock.GetUtcNow()));
                return TypedResults.LocalRedirect("~" + start.Home);
            }
            catch (PortalForbiddenException)
            {
                return TypedResults.Forbid();
            }
            catch (PortalException)
            {
                // The users page asked the same question before it offered the button; this is a race (the user was locked
                // meanwhile). The reason is in the audit log; a URL carries no message a link could forge.
                return TypedResults.LocalRedirect("~/admin/users?view_as=refused");
            }
        }).DisableAntiforgery().ExcludeFromDescription();

        endpoints.MapPost("/auth/view-as/end", async Task<IResult> (
            HttpContext context,
            [FromServices] SignInManager<PortalUser> signInManager,
            [FromServices] IAntiforgery antiforgery,
            [FromServices] UserAdminService userAdmin) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return TypedResults.BadRequest("The form has expired; reload the page and try again.");
            }

            var actor = Actor.From(context.User, context.Connection.RemoteIpAddress?.ToString());
            if (actor.ViewedBy is null)
            {
                return TypedResults.LocalRedirect("~/");
            }

            var admin = await userAdmin.EndViewAsAsync(actor);
            if (admin is null)
            {
                await signInManager.SignOutAsync();
                return TypedResults.LocalRedirect("~/auth/signin");
            }

            await signInManager.SignInAsync(admin, isPersistent: false);
            return TypedResults.LocalRedirect("~/admin/users?view_as=ended");
        }).DisableAntiforgery().ExcludeFromDescription();
    }
}
