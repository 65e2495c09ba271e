using Portal.Infrastructure.Security;

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
    }
}
