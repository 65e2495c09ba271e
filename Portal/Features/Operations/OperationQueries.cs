namespace Portal.Features.Operations;

public sealed record OperationListQuery(bool? Running = null, string? Kind = null, int Skip = 0, int Take = 25);

public sealed record OperationListPage(IReadOnlyList<OperationSnapshot> Items, int Total);

/// <summary>Reads operations for admins (who see every operation on this node).</summary>
public sealed class OperationQueries(IDbContextFactory<PortalDbContext> dbFactory)
{
    public async Task<OperationSnapshot?> GetAsync(Actor actor, Guid id, CancellationToken cancellationToken = default)
    {
        EnsureAdmin(actor);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var operation = await db.Operations.AsNoTracking().SingleOrDefaultAsync(o => o.Id == id, cancellationToken);
        if (operation is null)
        {
            return null;
        }

        var lastLogId = await db.OperationLog.Where(l => l.OperationId == id).MaxAsync(l => (long?)l.Id, cancellationToken) ?? 0;
        return OperationSnapshot.From(operation, lastLogId);
    }

    public async Task<OperationListPage> ListAsync(Actor actor, OperationListQuery query, CancellationToken cancellationToken = default)
    {
        EnsureAdmin(actor);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var q = db.Operations.AsNoTracking();
        if (query.Running is true)
        {
            q = q.Where(o => o.State == OperationState.Queued || o.State == OperationState.Running || o.State == OperationState.Paused);
        }
        else if (query.Running is false)
        {
            q = q.Where(o => o.State != OperationState.Queued && o.State != OperationState.Running && o.State != OperationState.Paused);
        }

        if (!string.IsNullOrWhiteSpace(query.Kind))
        {
            q = q.Where(o => o.Kind == query.Kind);
        }

        var total = await q.CountAsync(cancellationToken);
        var rows = await q.OrderByDescending(o => o.RequestedAt)
            .Skip(Math.Max(0, query.Skip)).Take(Math.Clamp(query.Take, 1, 200))
            .ToListAsync(cancellationToken);
        return new OperationListPage(rows.Select(o => OperationSnapshot.From(o, 0)).ToArray(), total);
    }

    /// <summary>Log lines after <paramref name="afterId"/>, oldest first.</summary>
    public async Task<IReadOnlyList<LogLine>> LogAsync(Actor actor, Guid id, long afterId, int take = 500, CancellationToken cancellationToken = default)
    {
        EnsureAdmin(actor);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.OperationLog.AsNoTracking()
            .Where(l => l.OperationId == id && l.Id > afterId)
            .OrderBy(l => l.Id).Take(Math.Clamp(take, 1, 5000))
            .Select(l => new LogLine(l.Id, l.At, l.Level, l.Message))
            .ToListAsync(cancellationToken);
    }

    private static void EnsureAdmin(Actor actor)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins can see this node's operations.");
        }
    }
}
