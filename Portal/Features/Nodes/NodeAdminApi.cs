namespace Portal.Features.Nodes;

public sealed record ProfileChange(ServerProfile Profile);

public sealed record TlsChange(bool Verify);

public sealed record LinkResponse(LinkedNodeRow Node, IReadOnlyList<string> Warnings);

/// <summary>Admin API for this node's identity and its linked nodes; thin over the services the pages use.</summary>
public static class NodeAdminApi
{
    public static void MapNodeAdminApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/node", async (NodeIdentityService identity, CancellationToken ct) => (await identity.GetAsync(ct)).ToInfo());

        api.MapPut("/node/profile", async (ProfileChange change, NodeIdentityService identity, ICurrentActor actor, CancellationToken ct) =>
            (await identity.SetProfileAsync(await actor.GetAsync(), change.Profile, ct)).ToInfo());

        api.MapDelete("/node/parent", async (NodeIdentityService identity, ICurrentActor actor, CancellationToken ct) =>
            (await identity.ClearParentAsync(await actor.GetAsync(), null, ct)).ToInfo());

        // On a child: accounts a former parent left here, and releasing them (they and their mail go).
        api.MapGet("/node/former-parent-accounts", async (FormerParentAccounts former, ICurrentActor actor, CancellationToken ct) =>
            await former.ListAsync(await actor.GetAsync(), ct));

        api.MapPost("/node/former-parent-accounts/release", async (ReleaseRequest request, FormerParentAccounts former, ICurrentActor actor, CancellationToken ct) =>
            new { released = await former.ReleaseAsync(await actor.GetAsync(), request, ct) });

        api.MapGet("/linked-nodes", async (NodeLinkService links, ICurrentActor actor, CancellationToken ct) =>
            await links.ListAsync(await actor.GetAsync(), ct));

        api.MapPost("/linked-nodes", async (LinkRequest request, NodeLinkService links, ICurrentActor actor, CancellationToken ct) =>
        {
            var result = await links.LinkAsync(await actor.GetAsync(), request, ct);
            return Results.Created($"/api/v1/linked-nodes/{result.Node.Id}", new LinkResponse(result.Node, result.Warnings));
        });

        api.MapGet("/linked-nodes/{id:guid}", async (Guid id, NodeLinkService links, ICurrentActor actor, CancellationToken ct) =>
            await links.GetAsync(await actor.GetAsync(), id, ct) is { } row ? Results.Ok(row) : throw new PortalNotFoundException("No linked node has that id."));

        // copies=DeleteNow|Keep: what becomes of accounts' copies still waiting there for their scheduled deletion.
        api.MapDelete("/linked-nodes/{id:guid}", async (Guid id, TokenRetirement? token, PendingCopies? copies, NodeLinkService links, ICurrentActor actor, CancellationToken ct) =>
            await links.UnlinkAsync(await actor.GetAsync(), id, token ?? TokenRetirement.RevokeNow, ct, copies ?? PendingCopies.Refuse));

        api.MapPost("/linked-nodes/{id:guid}/check", async (Guid id, NodeHealthService health, ICurrentActor actor, CancellationToken ct) =>
            await health.CheckNowAsync(await actor.GetAsync(), id, ct));

        api.MapPut("/linked-nodes/{id:guid}/tls", async (Guid id, TlsChange change, NodeLinkService links, ICurrentActor actor, CancellationToken ct) =>
            await links.SetTlsVerificationAsync(await actor.GetAsync(), id, change.Verify, ct));
    }
}
