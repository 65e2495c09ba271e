namespace Portal.Features.Distribution;

public sealed record PostponeRequest(TimeSpan By);

public sealed record ForceDedistributionRequest(IReadOnlyList<string> Usernames, IReadOnlyList<string> Confirm);

public static class DistributionApi
{
    /// <summary>Admin-only: scheduled deletions of children's copies, and forced dedistribution from a lost child.</summary>
    public static void MapDistributionAdminApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/scheduled-deletions", async (bool? all, ChildDeletionService deletions, ICurrentActor actor, CancellationToken ct) =>
            await deletions.ListAsync(await actor.GetAsync(), all == true, ct));

        api.MapPost("/scheduled-deletions/{id:long}/cancel", async (long id, ChildDeletionService deletions, ICurrentActor actor, CancellationToken ct) =>
        {
            await deletions.CancelAsync(await actor.GetAsync(), id, ct);
            return Results.NoContent();
        });

        api.MapPost("/scheduled-deletions/{id:long}/postpone", async (long id, PostponeRequest request, ChildDeletionService deletions, ICurrentActor actor, CancellationToken ct) =>
        {
            await deletions.PostponeAsync(await actor.GetAsync(), id, request.By, ct);
            return Results.NoContent();
        });

        api.MapPost("/scheduled-deletions/{id:long}/schedule", async (long id, ChildDeletionService deletions, ICurrentActor actor, CancellationToken ct) =>
        {
            await deletions.ScheduleAgainAsync(await actor.GetAsync(), id, ct);
            return Results.NoContent();
        });

        api.MapPost("/scheduled-deletions/{id:long}/run", async (long id, ChildDeletionService deletions, ICurrentActor actor, CancellationToken ct) =>
        {
            await deletions.RunNowAsync(await actor.GetAsync(), id, ct);
            return Results.NoContent();
        });

        // A reseller's routing applies to its new accounts; this applies it to the existing ones (one move each).
        api.MapPost("/resellers/{name}/apply-mail-node", async (string name, DistributionService distribution, ICurrentActor actor, CancellationToken ct) =>
            await distribution.ApplyResellerMailNodeAsync(await actor.GetAsync(), name, ct));

        // An account from another parent: its progress is at the returned location.
        api.MapPost("/transfers", async (TransferRequest request, TransferService transfers, ICurrentActor actor, CancellationToken ct) =>
        {
            var id = await transfers.StartAsync(await actor.GetAsync(), request, ct);
            return Results.Accepted($"/api/v1/operations/{id}", new { operationId = id });
        });

        // The guide's bulk procedures: one operation that starts a move per account, a few at a time.
        api.MapPost("/linked-nodes/{id:guid}/dedistribute-all", async (Guid id, BulkMoves bulk, ICurrentActor actor, CancellationToken ct) =>
        {
            var operationId = await bulk.DedistributeAllAsync(await actor.GetAsync(), id, ct);
            return Results.Accepted($"/api/v1/operations/{operationId}", new { operationId });
        });

        api.MapPost("/bulk-moves", async (BulkMoveRequest request, BulkMoves bulk, ICurrentActor actor, CancellationToken ct) =>
        {
            var operationId = await bulk.MoveAccountsAsync(await actor.GetAsync(), request, ct);
            return Results.Accepted($"/api/v1/operations/{operationId}", new { operationId });
        });

        api.MapGet("/linked-nodes/{id:guid}/distributed-accounts", async (Guid id, DistributionService distribution, ICurrentActor actor, CancellationToken ct) =>
            await distribution.DistributedAccountsAsync(await actor.GetAsync(), id, ct));

        api.MapPost("/linked-nodes/{id:guid}/force-dedistribution", async (Guid id, ForceDedistributionRequest request, DistributionService distribution, ICurrentActor actor, CancellationToken ct) =>
            new { accounts = await distribution.ForceDedistributeAsync(await actor.GetAsync(), id, request.Usernames ?? [], request.Confirm ?? [], ct) });
    }
}
