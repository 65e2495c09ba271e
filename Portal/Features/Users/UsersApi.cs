namespace Portal.Features.Users;

/// <summary>Admin API for resellers and users; the same service as the admin pages.</summary>
public static class UsersApi
{
    public static void MapUsersApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/users", async (string? search, string? role, int? skip, int? take, UserAdminService users, ICurrentActor actor, CancellationToken ct) =>
            await users.ListAsync(await actor.GetAsync(), new UserQuery(search, role, skip ?? 0, take ?? 25), ct));

        api.MapPost("/users", async (NewUser request, UserAdminService users, ICurrentActor actor, CancellationToken ct) =>
        {
            var created = await users.CreateAsync(await actor.GetAsync(), request, ct);
            return Results.Created($"/api/v1/users/{created.Id}", created);
        });

        // Email and role; null fields stay as they are.
        api.MapPatch("/users/{userName}", async (string userName, UserChange change, UserAdminService users, ICurrentActor actor, CancellationToken ct) =>
            Results.Ok(await users.UpdateAsync(await actor.GetAsync(), userName, change, ct)));

        // A reseller's accounts go to root with it only when asked (accountsToRoot=true); otherwise it is refused while it has any.
        api.MapDelete("/users/{userName}", async (string userName, bool? accountsToRoot, UserAdminService users, ICurrentActor actor, CancellationToken ct) =>
        {
            await users.DeleteAsync(await actor.GetAsync(), userName, accountsToRoot ?? false, ct);
            return Results.NoContent();
        });

        // A customer who lost their password gets a generated one, in this answer only.
        api.MapPost("/users/{userName}/password/reset", async (string userName, UserAdminService users, ICurrentActor actor, CancellationToken ct) =>
            Results.Ok(await users.ResetPasswordAsync(await actor.GetAsync(), userName, ct)));

        // A user who lost their authenticator and recovery codes signs in with the password again, and sets it up anew.
        api.MapPost("/users/{userName}/two-factor/reset", async (string userName, TwoFactorService twoFactor, ICurrentActor actor) =>
        {
            await twoFactor.ResetAsync(await actor.GetAsync(), userName);
            return Results.NoContent();
        });
    }
}
