namespace Portal.Features.Distribution;

/// <summary>A scheduled (or finished) deletion of an account's copy on a child, as admins see it.</summary>
public sealed record ChildDeletionRow(
    long Id, string Username, string Domain, string NodeAlias, ChildDeletionState State, DateTimeOffset DueAt, DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt, string? Outcome, Guid? OperationId)
{
    /// <summary>Still to come: it may be postponed, cancelled or run now.</summary>
    public bool CanChange => ChildAccountDeletion.CanChange(State);

    /// <summary>Cancelled or failed: it may be scheduled again.</summary>
    public bool CanScheduleAgain => ChildAccountDeletion.CanScheduleAgain(State);
}

/// <summary>
/// The deletions of accounts' copies on children after their mail left (dedistribution, or a move to another child):
/// scheduled for a retention period later as delayed jobs, listed for admins with the time left, and cancelled,
/// postponed or run at once by them. Every change is audited.
/// </summary>
public sealed class ChildDeletionService(
    IDbContextFactory<PortalDbContext> dbFactory,
    IBackgroundJobClient jobs,
    NodeLinkService links,
    INodeApiClientFactory clients,
    AuditLog audit,
    TimeProvider clock,
    IOptions<PortalSettings> settings,
    ILogger<ChildDeletionService> logger) : IChildAccountDeletions
{
    /// <summary>How long the parent waits for a child to take a deletion's date before it leaves it (the date is for show there).</summary>
    private static readonly TimeSpan TellChildTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Schedules the deletion a move (or a termination, <paramref name="dueNow"/>) asked for; the same operation asking
    /// again gets the same deletion.
    /// </summary>
    public async Task<DateTimeOffset> ScheduleAsync(string username, string domain, Guid nodeId, string nodeAlias, Guid? operationId, CancellationToken ct = default, bool dueNow = false)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (operationId is not null && await db.ChildAccountDeletions.AsNoTracking().SingleOrDefaultAsync(d => d.OperationId == operationId, ct) is { } existing)
        {
            return existing.DueAt;
        }

        var now = clock.GetUtcNow();
        var deletion = new ChildAccountDeletion
        {
            Username = username,
            Domain = domain,
            NodeId = nodeId,
            NodeAlias = nodeAlias,
            OperationId = operationId,
            State = ChildDeletionState.Scheduled,
            CreatedAt = now,
            DueAt = dueNow ? now : now + settings.Value.Distribution.ChildAccountRetention,
        };
        db.ChildAccountDeletions.Add(deletion);
        await db.SaveChangesAsync(ct);
        deletion.JobId = dueNow
            ? jobs.Enqueue<ChildAccountDeletionJob>(job => job.RunAsync(deletion.Id, CancellationToken.None))
            : jobs.Schedule<ChildAccountDeletionJob>(job => job.RunAsync(deletion.Id, CancellationToken.None), deletion.DueAt);
        await db.SaveChangesAsync(ct);
        if (!dueNow)
        {
            await TellChildAsync(deletion.Id, ct);
        }

        return deletion.DueAt;
    }

    /// <summary>
    /// A child is back online: deletions of copies there that came due while it was away (their job's retries ran
    /// out) run now. Returns how many were started.
    /// </summary>
    public async Task<int> RunDueForNodeAsync(Guid nodeId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var due = await db.ChildAccountDeletions.Where(d => d.NodeId == nodeId && d.State == ChildDeletionState.Scheduled && d.DueAt <= clock.GetUtcNow()).ToListAsync(ct);
        foreach (var deletion in due)
        {
            Unschedule(deletion);
            deletion.JobId = jobs.Enqueue<ChildAccountDeletionJob>(job => job.RunAsync(deletion.Id, CancellationToken.None));
        }

        await db.SaveChangesAsync(ct);
        return due.Count;
    }

    /// <summary>
    /// The account is terminated: its copies still waiting on former mail nodes are deleted now, not after their
    /// retention (nothing is kept for an account that no longer exists). Returns how many were started.
    /// </summary>
    public async Task<int> RunPendingNowAsync(string username, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var pending = await db.ChildAccountDeletions.Where(d => d.Username == username && d.State == ChildDeletionState.Scheduled && d.DueAt > clock.GetUtcNow()).ToListAsync(ct);
        foreach (var deletion in pending)
        {
            Unschedule(deletion);
            // Due now before the job exists (a job that began at once would read the old due time and wait).
            deletion.DueAt = clock.GetUtcNow();
            deletion.Outcome = "Due now: the account was terminated.";
            await db.SaveChangesAsync(ct);
            deletion.JobId = jobs.Enqueue<ChildAccountDeletionJob>(job => job.RunAsync(deletion.Id, CancellationToken.None));
            await db.SaveChangesAsync(ct);
        }

        return pending.Count;
    }

    public async Task<IReadOnlyList<ChildDeletionRow>> ListAsync(Actor actor, bool includeFinished, CancellationToken ct = default)
    {
        RequireAdmin(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var query = db.ChildAccountDeletions.AsNoTracking();
        if (!includeFinished)
        {
            query = query.Where(d => d.State == ChildDeletionState.Scheduled);
        }

        return await query.OrderBy(d => d.State == ChildDeletionState.Scheduled ? 0 : 1).ThenBy(d => d.DueAt).Take(500)
            .Select(d => new ChildDeletionRow(d.Id, d.Username, d.Domain, d.NodeAlias, d.State, d.DueAt, d.CreatedAt, d.FinishedAt, d.Outcome, d.OperationId))
            .ToListAsync(ct);
    }

    public async Task CancelAsync(Actor actor, long id, CancellationToken ct = default)
    {
        await ChangeAsync(actor, id, "child-copy.deletion.cancel", (db, deletion) =>
        {
            Unschedule(deletion);
            deletion.State = ChildDeletionState.Cancelled;
            deletion.FinishedAt = clock.GetUtcNow();
            deletion.Outcome = $"Cancelled by {actor.Name}; the copy stays on {deletion.NodeAlias} until an admin removes it.";
            return Task.FromResult($"Cancelled; the copy stays on {deletion.NodeAlias}.");
        }, ct);
        await TellChildAsync(id, ct);
    }

    /// <summary>Moves the deletion later by <paramref name="by"/> (from when it was due, or from now if that has passed).</summary>
    public async Task PostponeAsync(Actor actor, long id, TimeSpan by, CancellationToken ct = default)
    {
        if (by <= TimeSpan.Zero || by > TimeSpan.FromDays(365))
        {
            throw new PortalValidationException("Postpone by between a minute and 365 days.", code: "deletion.postpone_invalid");
        }

        await ChangeAsync(actor, id, "child-copy.deletion.postpone", (db, deletion) =>
        {
            Unschedule(deletion);
            var from = deletion.DueAt > clock.GetUtcNow() ? deletion.DueAt : clock.GetUtcNow();
            deletion.DueAt = from + by;
            deletion.JobId = jobs.Schedule<ChildAccountDeletionJob>(job => job.RunAsync(deletion.Id, CancellationToken.None), deletion.DueAt);
            return Task.FromResult($"Now due at {deletion.DueAt:yyyy-MM-dd HH:mm} UTC.");
        }, ct);
        await TellChildAsync(id, ct);
    }

    public async Task RunNowAsync(Actor actor, long id, CancellationToken ct = default)
    {
        await ChangeAsync(actor, id, "child-copy.deletion.run-now", async (db, deletion) =>
        {
            Unschedule(deletion);
            // Due now in the database before the job exists: a job that began at once would otherwise read the old due
            // time, take itself for a postponed one and do nothing.
            deletion.DueAt = clock.GetUtcNow();
            await db.SaveChangesAsync(ct);
            deletion.JobId = jobs.Enqueue<ChildAccountDeletionJob>(job => job.RunAsync(deletion.Id, CancellationToken.None));
            return "Runs now.";
        }, ct);
    }

    /// <summary>
    /// Schedules a cancelled (or failed) deletion again, due a retention period from now: an admin who kept a copy
    /// changes their mind. Refused while the account's mail lives on that node again, or the node is no longer linked.
    /// </summary>
    public async Task ScheduleAgainAsync(Actor actor, long id, CancellationToken ct = default)
    {
        const string action = "child-copy.deletion.schedule";
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var deletion = await FindAsync(db, actor, id, action, ct);
        string? refusal = null;
        if (!ChildAccountDeletion.CanScheduleAgain(deletion.State))
        {
            refusal = $"The deletion of {deletion.Username}'s copy on {deletion.NodeAlias} is {deletion.State.ToString().ToLowerInvariant()}; only a cancelled or failed one is scheduled again.";
        }
        else if (await db.Accounts.AnyAsync(a => a.Username == deletion.Username && a.MailNodeId == deletion.NodeId, ct))
        {
            refusal = $"{deletion.Username}'s mail lives on {deletion.NodeAlias} again: that copy is the account's mail, not a leftover.";
        }
        else if (!await db.LinkedNodes.AnyAsync(n => n.Id == deletion.NodeId, ct))
        {
            refusal = $"{deletion.NodeAlias} is no longer linked to this node; remove the copy there by its own admin.";
        }

        if (refusal is not null)
        {
            await audit.RecordAsync(actor, action, deletion.Username, AuditOutcome.Refused, refusal, ct);
            throw new PortalConflictException(refusal, code: "deletion.not_reschedulable");
        }

        deletion.State = ChildDeletionState.Scheduled;
        deletion.FinishedAt = null;
        deletion.DueAt = clock.GetUtcNow() + settings.Value.Distribution.ChildAccountRetention;
        deletion.Outcome = $"Scheduled again by {actor.Name}.";
        await db.SaveChangesAsync(ct);
        deletion.JobId = jobs.Schedule<ChildAccountDeletionJob>(job => job.RunAsync(deletion.Id, CancellationToken.None), deletion.DueAt);
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, action, deletion.Username, AuditOutcome.Succeeded, $"Copy on {deletion.NodeAlias}: due at {deletion.DueAt:yyyy-MM-dd HH:mm} UTC.", ct);
        await TellChildAsync(id, ct);
    }

    /// <summary>
    /// Tells the child when its copy goes (or that it stays, once cancelled), so its admins see it on the account's
    /// page. Best effort: the deletion itself does not depend on it, so a child that is down misses one date and gets
    /// the next; a failure is logged, never thrown.
    /// </summary>
    private async Task TellChildAsync(long id, CancellationToken ct)
    {
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var deletion = await db.ChildAccountDeletions.AsNoTracking().SingleAsync(d => d.Id == id, ct);
            var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == deletion.NodeId, ct);
            if (node is null)
            {
                return;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TellChildTimeout);
            await clients.Create(links.EndpointOf(node)).SetKeptUntilAsync(deletion.Username, deletion.State == ChildDeletionState.Scheduled ? deletion.DueAt : null, timeout.Token);
        }
        catch (Exception ex) when (ex is NodeApiException or OperationCanceledException or HttpRequestException)
        {
            logger.LogWarning("The child was not told when its copy of deletion {Id} is due: {Error}", id, ex.Message);
        }
    }

    /// <summary>The account's mail is going back to that child: a deletion of its copy there must not happen.</summary>
    public async Task CancelForReturnAsync(Actor actor, string username, Guid nodeId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var pending = await db.ChildAccountDeletions.Where(d => d.Username == username && d.NodeId == nodeId && d.State == ChildDeletionState.Scheduled).ToListAsync(ct);
        foreach (var deletion in pending)
        {
            Unschedule(deletion);
            deletion.State = ChildDeletionState.Cancelled;
            deletion.FinishedAt = clock.GetUtcNow();
            deletion.Outcome = $"Cancelled: the account's mail moves to {deletion.NodeAlias} again.";
            await audit.RecordAsync(actor, "child-copy.deletion.cancel", username, AuditOutcome.Succeeded, deletion.Outcome, ct);
        }

        await db.SaveChangesAsync(ct);
    }

    /// <summary>The delayed job: deletes the child's copy (mail and account) unless cancelled, postponed or moved back.</summary>
    public async Task ExecuteAsync(long deletionId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var deletion = await db.ChildAccountDeletions.SingleOrDefaultAsync(d => d.Id == deletionId, ct);
        // Cancelled, done, or postponed (a job of the earlier time that was already running when it changed).
        if (deletion is null || deletion.State != ChildDeletionState.Scheduled || deletion.DueAt > clock.GetUtcNow().AddMinutes(1))
        {
            return;
        }

        var system = Actor.System with { Name = "system (retention)" };
        var account = await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.Username == deletion.Username, ct);
        // A termination's removal goes ahead whatever the account (on its way out) still says.
        var forTermination = deletion.OperationId is { } requestedBy
            && await db.Operations.AnyAsync(o => o.Id == requestedBy && o.Kind == AccountTerminationJob.Kind, ct);
        if (forTermination)
        {
            system = Actor.System with { Name = "system (termination)" };
        }
        else if (account?.MailNodeId == deletion.NodeId)
        {
            await FinishAsync(db, deletion, ChildDeletionState.Cancelled, $"Not deleted: the account's mail lives on {deletion.NodeAlias} again.", system, ct);
            return;
        }

        if (!forTermination && await db.Operations.AnyAsync(o => o.Target == deletion.Username && DistributionService.MoveKinds.Contains(o.Kind)
                && (o.State == OperationState.Queued || o.State == OperationState.Running || o.State == OperationState.Paused), ct))
        {
            // Its mail is on the move: decide once it has landed.
            deletion.DueAt = clock.GetUtcNow().AddHours(1);
            deletion.Outcome = "Postponed by an hour: a move of the account's mail was under way.";
            deletion.JobId = jobs.Schedule<ChildAccountDeletionJob>(job => job.RunAsync(deletion.Id, CancellationToken.None), deletion.DueAt);
            await db.SaveChangesAsync(ct);
            return;
        }

        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == deletion.NodeId, ct);
        if (node is null)
        {
            await FinishAsync(db, deletion, ChildDeletionState.Failed, $"{deletion.NodeAlias} is no longer linked; remove the copy there by hand if the node still exists.", system, ct);
            return;
        }

        var child = clients.Create(links.EndpointOf(node));
        try
        {
            await child.RemoveAccountTwinWithMailAsync(deletion.Username, ct);
        }
        catch (NodeApiException ex)
        {
            deletion.Outcome = $"Attempt at {clock.GetUtcNow():yyyy-MM-dd HH:mm} UTC failed: {ex.Message} It is tried again.";
            await db.SaveChangesAsync(CancellationToken.None);
            await audit.RecordAsync(system, "child-copy.delete", deletion.Username, AuditOutcome.Failed, ex.Message, CancellationToken.None);
            throw;
        }

        await FinishAsync(db, deletion, ChildDeletionState.Done, $"Deleted the account and its mail on {deletion.NodeAlias}.", system, ct);
    }

    private async Task FinishAsync(PortalDbContext db, ChildAccountDeletion deletion, ChildDeletionState state, string outcome, Actor actor, CancellationToken ct)
    {
        deletion.State = state;
        deletion.Outcome = outcome;
        deletion.FinishedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, "child-copy.delete", deletion.Username, state == ChildDeletionState.Done ? AuditOutcome.Succeeded : AuditOutcome.Refused, outcome, ct);
    }

    private async Task ChangeAsync(Actor actor, long id, string action, Func<PortalDbContext, ChildAccountDeletion, Task<string>> change, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var deletion = await FindAsync(db, actor, id, action, ct);
        if (!ChildAccountDeletion.CanChange(deletion.State))
        {
            var message = $"The deletion of {deletion.Username}'s copy on {deletion.NodeAlias} is {deletion.State.ToString().ToLowerInvariant()}; only a scheduled one can change.";
            await audit.RecordAsync(actor, action, deletion.Username, AuditOutcome.Refused, message, ct);
            throw new PortalConflictException(message, code: "deletion.not_scheduled");
        }

        var detail = await change(db, deletion);
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, action, deletion.Username, AuditOutcome.Succeeded, $"Copy on {deletion.NodeAlias}: {detail}", ct);
    }

    /// <summary>The deletion an admin acts on (a non-admin is refused and audited; an unknown id is not found).</summary>
    private async Task<ChildAccountDeletion> FindAsync(PortalDbContext db, Actor actor, long id, string action, CancellationToken ct)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, action, id.ToString(CultureInfo.InvariantCulture), AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins manage scheduled deletions.");
        }

        return await db.ChildAccountDeletions.SingleOrDefaultAsync(d => d.Id == id, ct)
            ?? throw new PortalNotFoundException($"There is no scheduled deletion {id}.");
    }

    private void Unschedule(ChildAccountDeletion deletion)
    {
        if (deletion.JobId is { } job)
        {
            jobs.Delete(job);
        }
    }

    private static void RequireAdmin(Actor actor)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins see scheduled deletions.");
        }
    }
}
