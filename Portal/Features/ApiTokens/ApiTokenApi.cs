namespace Portal.Features.ApiTokens;

/// <param name="TransferAccount">Node tokens only: the one account this token may export to another parent (nothing else).</param>
public sealed record NewToken(string Name, DateTimeOffset? ExpiresAt, string? TransferAccount = null);

public sealed record NewTokenResponse(ApiTokenRow Token, string Secret);

/// <summary>Admin API for node API tokens and the admin's own API tokens.</summary>
public static class ApiTokenApi
{
    public static void MapApiTokenApi(this IEndpointRouteBuilder api)
    {
        foreach (var (path, kind) in new[] { ("/node-tokens", ApiTokenKind.Node), ("/api-tokens", ApiTokenKind.User) })
        {
            api.MapGet(path, async (ApiTokenService tokens, ICurrentActor actor, CancellationToken ct) =>
                await tokens.ListAsync(await actor.GetAsync(), kind, ct));

            api.MapPost(path, async (NewToken request, ApiTokenService tokens, ICurrentActor actor, CancellationToken ct) =>
            {
                var created = await tokens.CreateAsync(await actor.GetAsync(), kind, request.Name, request.ExpiresAt, ct, request.TransferAccount);
                return Results.Created($"/api/v1{path}/{created.Token.Id}", new NewTokenResponse(created.Token, created.Secret));
            });

            api.MapDelete($"{path}/{{id:guid}}", async (Guid id, ApiTokenService tokens, ICurrentActor actor, CancellationToken ct) =>
            {
                await tokens.RevokeAsync(await actor.GetAsync(), id, ct);
                return Results.NoContent();
            });
        }
    }
}
