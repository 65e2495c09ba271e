namespace Portal.Features.Operations;

/// <summary>
/// Starts operations: records the operation with its planned steps (so the UI shows them at once), hands its id to a
/// job, and audits the request. Jobs receive only the id, never objects or secrets.
/// </summary>
public sealed class OperationLauncher(
    IDbContextFactory<PortalDbContext> dbFactory,
    OperationUpdates updates,
    AuditLog audit,
    TimeProvider clock)
{
    /// <param name="enqueue">Enqueues the job for the new operation's id and returns the job's id.</param>
    public async Task<Guid> StartAsync(Actor actor, OperationRequest request, Func<Guid, string> enqueue, CancellationToken cancellationToken = default) =>
        await StartAsync(actor, request, null, enqueue, cancellationToken);

    public async Task<Guid> StartAsync(Actor actor, OperationRequest request, string? parameters, Func<Guid, string> enqueue, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var operation = new Operation
        {
            Id = Guid.CreateVersion7(now),
            Kind = request.Kind,
            Title = request.Title,
            Target = request.Target,
            State = OperationState.Queued,
            RequestedBy = actor.Name,
            RequestedById = actor.UserId,
            Parameters = parameters,
            RequestedAt = now,
            UpdatedAt = now,
            Steps = request.Steps.Select(s => new OperationStep { Key = s.Key, Title = s.Title, Weight = s.Weight }).ToList(),
        };

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.Operations.Add(operation);
        await db.SaveChangesAsync(cancellationToken);

        try
        {
            operation.JobId = enqueue(operation.Id);
        }
        catch (Exception ex)
        {
            operation.State = OperationState.Failed;
            operation.Error = $"The job could not be queued: {ex.Message}";
            operation.FinishedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(CancellationToken.None);
            await audit.RecordAsync(actor, "operation.start", $"{request.Kind} {request.Target}".Trim(), AuditOutcome.Failed, operation.Error, CancellationToken.None);
            updates.Publish(OperationSnapshot.From(operation, 0));
            throw;
        }

        await db.SaveChangesAsync(cancellationToken);
        await audit.RecordAsync(actor, "operation.start", $"{request.Kind} {request.Target}".Trim(), AuditOutcome.Succeeded, $"Operation {operation.Id}", cancellationToken);
        updates.Publish(OperationSnapshot.From(operation, 0));
        return operation.Id;
    }
}
