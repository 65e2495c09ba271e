namespace Portal.Features.Operations;

/// <summary>An admin pauses, resumes or retries an operation; the job sees it at its next safe point.</summary>
public sealed class OperationControl(IDbContextFactory<PortalDbContext> dbFactory, IBackgroundJobClient jobs, OperationUpdates updates, AuditLog audit, TimeProvider clock)
{
    /// <summary>How each kind of operation is run again.</summary>
    private static readonly Dictionary<string, Func<IBackgroundJobClient, Guid, string>> Jobs = new()
    {
        [MailCopyJob.Kind] = (client, id) => client.Enqueue<MailCopyJob>(job => job.RunAsync(id, CancellationToken.None)),
        [MailReturnJob.Kind] = (client, id) => client.Enqueue<MailReturnJob>(job => job.RunAsync(id, CancellationToken.None)),
        [AccountTransferJob.Kind] = (client, id) => client.Enqueue<AccountTransferJob>(job => job.RunAsync(id, CancellationToken.None)),
        [MailRelayJob.Kind] = (client, id) => client.Enqueue<MailRelayJob>(job => job.RunAsync(id, CancellationToken.None)),
        [MailArchiveJob.Kind] = (client, id) => client.Enqueue<MailArchiveJob>(job => job.RunAsync(id, CancellationToken.None)),
        [AccountTerminationJob.Kind] = (client, id) => client.Enqueue<AccountTerminationJob>(job => job.RunAsync(id, CancellationToken.None)),
        [NodeSelfCheckJob.Kind] = (client, id) => client.Enqueue<NodeSelfCheckJob>(job => job.RunAsync(id, CancellationToken.None)),
    };

    /// <summary>
    /// At start-up, before the job server runs: an operation still Queued with no job id was recorded by a process that
    /// stopped before it could queue its job (killed between the two), and would wait for ever. Each gets its job now,
    /// unless the job exists after all (the process queued it and stopped before it wrote the job's id): a second
    /// job would run the same move twice at once. Returns how many were queued.
    /// </summary>
    public async Task<int> QueueOrphansAsync(Func<Guid, CancellationToken, Task<bool>> jobExists, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var orphans = await db.Operations.Where(o => o.State == OperationState.Queued && o.JobId == null)
            .Select(o => new { o.Id, o.Kind }).ToListAsync(ct);
        var queued = 0;
        foreach (var orphan in orphans)
        {
            if (!Jobs.TryGetValue(orphan.Kind, out var enqueue) || await jobExists(orphan.Id, ct))
            {
                continue;
            }

            var jobId = enqueue(jobs, orphan.Id);
            await db.Operations.Where(o => o.Id == orphan.Id).ExecuteUpdateAsync(o => o.SetProperty(x => x.JobId, jobId), ct);
            queued++;
        }

        return queued;
    }

    /// <summary>
    /// Asks the operation to pause at its next safe point (its job then records that it paused, or, if it ended first,
    /// that the pause never took effect): the request itself is audited as requested, not as done.
    /// </summary>
    public Task PauseAsync(Actor actor, Guid id, CancellationToken ct = default) =>
        ChangeAsync(actor, id, "operation.pause", o =>
        {
            if (o.IsFinished)
            {
                throw new PortalConflictException("The operation has ended; there is nothing to pause.", code: "operation.finished");
            }

            o.PauseRequested = true;
        }, ct, AuditOutcome.Requested, "It pauses at its next safe point: when the batch in flight has landed, or before its next step.");

    public Task ResumeAsync(Actor actor, Guid id, CancellationToken ct = default) =>
        ChangeAsync(actor, id, "operation.resume", o => o.PauseRequested = false, ct);

    /// <summary>
    /// Cancels an operation before its point of no return (<see cref="Cancellation"/>: a move's switch). One still
    /// queued with nothing done, or one that failed (and undid its work, or says what it left), ends Cancelled at once;
    /// a running or paused one is asked to stop: its job undoes its work at its next safe point and ends Cancelled.
    /// </summary>
    public async Task CancelAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        const string action = "operation.cancel";
        var operation = await LoadAsync(actor, id, action, ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var point = Cancellation.PointOfNoReturn(operation.Kind);
        if (point is null)
        {
            await RefuseAsync($"Operations of kind {operation.Kind} cannot be cancelled.", "operation.not_cancellable");
        }

        if (operation.State is OperationState.Succeeded or OperationState.Cancelled)
        {
            await RefuseAsync($"The operation has ended ({operation.State}); there is nothing to cancel.", "operation.finished");
        }

        if (operation.Steps.FirstOrDefault(s => s.Key == point) is { State: StepState.Running or StepState.Done or StepState.Failed } past)
        {
            await RefuseAsync($"It is past \"{past.Title}\": from there on the other side serves the account, and undoing would lose what arrived since. "
                + (operation.State == OperationState.Failed ? "Retry it to finish." : "Let it finish (Retry finishes it if it fails)."), "operation.past_point_of_no_return");
        }

        var now = clock.GetUtcNow();
        var allPending = operation.Steps.All(s => s.State == StepState.Pending);
        int ended;
        if (operation.State == OperationState.Failed)
        {
            // It undid what it could when it failed (its error says what it left); cancelling ends it for good.
            ended = await db.Operations.Where(o => o.Id == id && o.State == OperationState.Failed).ExecuteUpdateAsync(o => o
                .SetProperty(x => x.State, OperationState.Cancelled)
                .SetProperty(x => x.Summary, $"Cancelled by {actor.Name} after it failed; it is not retried.")
                .SetProperty(x => x.UpdatedAt, now), ct);
        }
        else if (operation.State == OperationState.Queued && allPending)
        {
            ended = await db.Operations.Where(o => o.Id == id && o.State == OperationState.Queued).ExecuteUpdateAsync(o => o
                .SetProperty(x => x.State, OperationState.Cancelled)
                .SetProperty(x => x.Summary, $"Cancelled by {actor.Name} before it began; nothing was done.")
                .SetProperty(x => x.FinishedAt, now)
                .SetProperty(x => x.UpdatedAt, now), ct);
            if (ended > 0 && operation.JobId is { } job)
            {
                jobs.Delete(job);
            }
        }
        else
        {
            ended = 0;
        }

        if (ended == 0)
        {
            // Running, paused, or it began meanwhile: the job takes it at its next safe point (a paused one at once).
            var asked = await db.Operations.Where(o => o.Id == id && (o.State == OperationState.Queued || o.State == OperationState.Running || o.State == OperationState.Paused))
                .ExecuteUpdateAsync(o => o.SetProperty(x => x.CancelRequested, true).SetProperty(x => x.UpdatedAt, now), ct);
            if (asked == 0)
            {
                await RefuseAsync("The operation ended meanwhile; there is nothing to cancel.", "operation.finished");
            }
        }

        await audit.RecordAsync(actor, action, operation.Title, AuditOutcome.Succeeded, ended > 0 ? $"Operation {id} cancelled." : $"Operation {id}: cancel asked for.", ct);
        await PublishAsync(db, id, ct);

        async Task RefuseAsync(string message, string code)
        {
            await audit.RecordAsync(actor, action, operation.Title, AuditOutcome.Refused, message, ct);
            throw new PortalConflictException($"{operation.Title} was not cancelled: {message}", code: code);
        }
    }

    /// <summary>
    /// Runs a failed operation again from where it stopped (its finished steps stay finished). The operation is Queued
    /// in the database before its job exists: a job that began at once would otherwise find it still Failed and end,
    /// and the Queued written after it would then wait for ever for a job that was gone.
    /// </summary>
    public async Task RetryAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        const string action = "operation.retry";
        var operation = await LoadAsync(actor, id, action, ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!Jobs.TryGetValue(operation.Kind, out var enqueue))
        {
            await RefuseAsync(new PortalConflictException($"Operations of kind {operation.Kind} cannot be retried; start a new one.", code: "operation.not_retryable"));
        }

        // One statement that only a Failed operation passes: two admins retrying at once queue one job, not two.
        var now = clock.GetUtcNow();
        var queued = await db.Operations.Where(o => o.Id == id && o.State == OperationState.Failed).ExecuteUpdateAsync(o => o
            .SetProperty(x => x.State, OperationState.Queued)
            .SetProperty(x => x.Error, (string?)null)
            .SetProperty(x => x.FinishedAt, (DateTimeOffset?)null)
            .SetProperty(x => x.PauseRequested, false)
            .SetProperty(x => x.CancelRequested, false)
            .SetProperty(x => x.UpdatedAt, now), ct);
        if (queued == 0)
        {
            await RefuseAsync(new PortalConflictException("Only a failed operation can be retried.", code: "operation.not_failed"));
        }

        string jobId;
        try
        {
            jobId = enqueue!(jobs, id);
        }
        catch (Exception ex)
        {
            await db.Operations.Where(o => o.Id == id && o.State == OperationState.Queued).ExecuteUpdateAsync(o => o
                .SetProperty(x => x.State, OperationState.Failed)
                .SetProperty(x => x.Error, $"The job could not be queued again: {ex.Message}")
                .SetProperty(x => x.FinishedAt, clock.GetUtcNow()), CancellationToken.None);
            await audit.RecordAsync(actor, action, operation.Title, AuditOutcome.Failed, ex.Message, CancellationToken.None);
            await PublishAsync(db, id, CancellationToken.None);
            throw;
        }

        // Only the job's id: the job may already have begun and written its own state.
        await db.Operations.Where(o => o.Id == id).ExecuteUpdateAsync(o => o.SetProperty(x => x.JobId, jobId), CancellationToken.None);
        await audit.RecordAsync(actor, action, operation.Title, AuditOutcome.Succeeded, $"Operation {id}", CancellationToken.None);
        await PublishAsync(db, id, CancellationToken.None);

        async Task RefuseAsync(PortalConflictException refusal)
        {
            await audit.RecordAsync(actor, action, operation.Title, AuditOutcome.Refused, refusal.Message, ct);
            throw refusal;
        }
    }

    private async Task ChangeAsync(Actor actor, Guid id, string action, Action<Operation> change, CancellationToken ct,
        AuditOutcome outcome = AuditOutcome.Succeeded, string? detail = null)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, action, id.ToString(), AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins control operations.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.SingleOrDefaultAsync(o => o.Id == id, ct)
            ?? throw new PortalNotFoundException("There is no such operation on this node.");
        try
        {
            change(operation);
        }
        catch (PortalConflictException ex)
        {
            await audit.RecordAsync(actor, action, operation.Title, AuditOutcome.Refused, ex.Message, ct);
            throw;
        }

        operation.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, action, operation.Title, outcome, detail is null ? $"Operation {id}" : $"Operation {id}. {detail}", ct);
        await PublishAsync(db, id, ct);
    }

    /// <summary>The operation an admin acts on (a non-admin is refused and audited; an unknown id is not found).</summary>
    private async Task<Operation> LoadAsync(Actor actor, Guid id, string action, CancellationToken ct)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, action, id.ToString(), AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins control operations.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Operations.AsNoTracking().SingleOrDefaultAsync(o => o.Id == id, ct)
            ?? throw new PortalNotFoundException("There is no such operation on this node.");
    }

    private async Task PublishAsync(PortalDbContext db, Guid id, CancellationToken ct)
    {
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == id, ct);
        var lastLogId = await db.OperationLog.Where(l => l.OperationId == id).MaxAsync(l => (long?)l.Id, ct) ?? 0;
        updates.Publish(OperationSnapshot.From(operation, lastLogId));
    }
}
