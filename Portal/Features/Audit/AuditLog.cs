namespace Portal.Features.Audit;

/// <summary>Writes the audit trail. Services call it for every administrative change, refused ones included.</summary>
public sealed class AuditLog(IDbContextFactory<PortalDbContext> dbFactory, TimeProvider clock, ILogger<AuditLog> logger)
{
    public async Task RecordAsync(Actor actor, string action, string? target, AuditOutcome outcome, string? details = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.AuditEntries.Add(new AuditEntry
        {
            At = clock.GetUtcNow(),
            ActorId = actor.UserId,
            ActorName = actor.AuditName,
            Address = actor.Address,
            Action = action,
            Target = target,
            Outcome = outcome,
            Details = StoredText.ClipOrNull(details),
        });
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Audit {Action} on {Target} by {Actor} from {Address}: {Outcome}", action, target, actor.AuditName, actor.Address, outcome);
    }
}
