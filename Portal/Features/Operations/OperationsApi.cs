namespace Portal.Features.Operations;

/// <summary>Admin API for operations: start a self-check, read an operation's progress and log.</summary>
public static class OperationsApi
{
    public static void MapOperationsApi(this IEndpointRouteBuilder api)
    {
        api.MapPost("/self-check", async (SelfCheckService selfCheck, ICurrentActor actor, CancellationToken ct) =>
        {
            var id = await selfCheck.StartAsync(await actor.GetAsync(), ct);
            return Results.Accepted($"/api/v1/operations/{id}", new { id });
        });

        api.MapGet("/operations/{id:guid}", async (Guid id, OperationQueries queries, ICurrentActor actor, CancellationToken ct) =>
            await queries.GetAsync(await actor.GetAsync(), id, ct) ?? throw new PortalNotFoundException("There is no operation with that id on this node."));

        api.MapPost("/operations/{id:guid}/pause", async (Guid id, OperationControl control, ICurrentActor actor, CancellationToken ct) =>
        {
            await control.PauseAsync(await actor.GetAsync(), id, ct);
            return Results.NoContent();
        });

        api.MapPost("/operations/{id:guid}/resume", async (Guid id, OperationControl control, ICurrentActor actor, CancellationToken ct) =>
        {
            await control.ResumeAsync(await actor.GetAsync(), id, ct);
            return Results.NoContent();
        });

        // Before its point of no return (a move's switch) a cancel undoes what the operation did; after it, 409 with why.
        api.MapPost("/operations/{id:guid}/cancel", async (Guid id, OperationControl control, ICurrentActor actor, CancellationToken ct) =>
        {
            await control.CancelAsync(await actor.GetAsync(), id, ct);
            return Results.Accepted($"/api/v1/operations/{id}");
        });

        api.MapPost("/operations/{id:guid}/retry", async (Guid id, OperationControl control, ICurrentActor actor, CancellationToken ct) =>
        {
            await control.RetryAsync(await actor.GetAsync(), id, ct);
            return Results.Accepted($"/api/v1/operations/{id}");
        });

        api.MapGet("/operations/{id:guid}/log", async (Guid id, long? after, OperationQueries queries, ICurrentActor actor, CancellationToken ct) =>
            await queries.LogAsync(await actor.GetAsync(), id, after ?? 0, cancellationToken: ct));
    }
}
