namespace Portal.Features.Audit;

public sealed record AuditQuery(
    string? Actor = null,
    string? Action = null,
    AuditOutcome? Outcome = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    int Skip = 0,
    int Take = 50);

public sealed record AuditPage(IReadOnlyList<AuditEntry> Items, int Total);

/// <summary>Reads the audit trail for admins: filtered and paged in the database, newest first.</summary>
public sealed class AuditQueries(IDbContextFactory<PortalDbContext> dbFactory)
{
    public async Task<AuditPage> FindAsync(Actor actor, AuditQuery query, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins can read the audit log.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var q = db.AuditEntries.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(query.Actor))
        {
            q = q.Where(e => e.ActorName.StartsWith(query.Actor.Trim()));
        }

        if (!string.IsNullOrWhiteSpace(query.Action))
        {
            q = q.Where(e => e.Action.StartsWith(query.Action.Trim()));
        }

        if (query.Outcome is { } outcome)
        {
            q = q.Where(e => e.Outcome == outcome);
        }

        if (query.From is { } from)
        {
            q = q.Where(e => e.At >= from);
        }

        if (query.To is { } to)
        {
            q = q.Where(e => e.At < to);
        }

        var total = await q.CountAsync(cancellationToken);
        var items = await q.OrderByDescending(e => e.At).ThenByDescending(e => e.Id)
            .Skip(Math.Max(0, query.Skip)).Take(Math.Clamp(query.Take, 1, 500))
            .ToListAsync(cancellationToken);
        return new AuditPage(items, total);
    }
}
