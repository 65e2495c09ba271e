namespace Portal.Features.Accounts;

/// <summary>An operation that changes an account (a move of its mail, or its termination) and has not ended.</summary>
public sealed record AccountOperation(Guid Id, string Kind)
{
    public bool IsTermination => Kind == AccountTerminationJob.Kind;
}

/// <summary>
/// One change of an account's mail or life at a time: moves, terminations, renames and domain changes take the same
/// lock on its name, then look for an operation of it still under way.
/// </summary>
public static class AccountWork
{
    /// <summary>Holds the account's lock until the caller's transaction ends: a second admin waits, then sees the first's work.</summary>
    public static Task LockAsync(PortalDbContext db, string username, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({"move:" + username}))", ct);

    public static Task<AccountOperation?> UnderWayAsync(PortalDbContext db, string username, CancellationToken ct) =>
        db.Operations.AsNoTracking()
            .Where(o => o.Target == username && (DistributionService.MoveKinds.Contains(o.Kind) || o.Kind == AccountTerminationJob.Kind)
                && (o.State == OperationState.Queued || o.State == OperationState.Running || o.State == OperationState.Paused))
            .OrderByDescending(o => o.RequestedAt).Select(o => new AccountOperation(o.Id, o.Kind)).FirstOrDefaultAsync(ct);
}
