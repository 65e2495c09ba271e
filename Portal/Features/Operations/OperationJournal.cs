namespace Portal.Features.Operations;

/// <summary>
/// Records what jobs report about their operations in the database and publishes each change to open browsers.
/// Progress inside a step is coalesced to one write and one live update per <c>Portal:Operations:ProgressInterval</c>;
/// step changes, log lines and the end are written at once.
/// </summary>
public sealed class OperationJournal(
    IDbContextFactory<PortalDbContext> dbFactory,
    OperationUpdates updates,
    TimeProvider clock,
    IOptions<PortalSettings> settings,
    AuditLog audit) : IOperationJournal
{
    private readonly AuditLog _audit = audit;
    private readonly OperationUpdates _updates = updates;
    private readonly TimeProvider _clock = clock;
    private readonly TimeSpan _progressInterval = settings.Value.Operations.ProgressInterval;

    public async Task<IOperationRun> BeginAsync(Guid operationId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var operation = await db.Operations.AsNoTracking().SingleOrDefaultAsync(o => o.Id == operationId, cancellationToken)
            ?? throw new InvalidOperationException($"Operation {operationId} does not exist; the job has nothing to run.");
        if (operation.IsFinished)
        {
            throw new OperationEndedException($"Operation {operationId} already ended ({operation.State}); it is not run again.");
        }

        var lastLogId = await db.OperationLog.Where(l => l.OperationId == operationId)
            .OrderByDescending(l => l.Id).Select(l => l.Id).FirstOrDefaultAsync(cancellationToken);

        var now = _clock.GetUtcNow();
        // Still Running when a job begins it: the process that ran it stopped in the middle (the node was restarted or
        // killed). Said on the page and in the log, with the step it stopped in.
        var interrupted = operation.State is OperationState.Running or OperationState.Paused && operation.Attempts > 0
            ? operation.Steps.FirstOrDefault(s => s.State == StepState.Running)
            : null;
        // A job resumed while paused shows it at its first pause check; until then it runs.
        operation.State = OperationState.Running;
        operation.StartedAt ??= now;
        operation.Attempts++;
        foreach (var step in operation.Steps.Where(s => s.State is StepState.Running or StepState.Failed))
        {
            // An earlier attempt stopped inside this step; it runs again (from its checkpoint, if it saved one).
            step.State = StepState.Pending;
        }

        var checkpoints = await db.OperationCheckpoints.AsNoTracking().Where(c => c.OperationId == operationId)
            .ToDictionaryAsync(c => c.StepKey, c => c.Data, StringComparer.Ordinal, cancellationToken);
        var run = new Run(this, operation, lastLogId, now, checkpoints);
        await run.FlushAsync(cancellationToken);
        if (interrupted is not null)
        {
            await run.LogAsync(OperationLogLevel.Warning, $"Interrupted at \"{interrupted.Title}\" (this node stopped while it ran); resuming from there.", cancellationToken);
        }
        PortalTelemetry.MoveStarted(operation.Kind);
        return run;
    }

    private async Task<(bool Pause, bool Cancel)> ControlAsync(Guid id, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var control = await db.Operations.Where(o => o.Id == id).Select(o => new { o.PauseRequested, o.CancelRequested }).SingleAsync(ct);
        return (control.PauseRequested, control.CancelRequested);
    }

    internal async Task<long> AppendLogAsync(Guid operationId, OperationLogLevel level, string message, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var entry = new OperationLogEntry
        {
            OperationId = operationId,
            At = _clock.GetUtcNow(),
            Level = level,
            Message = StoredText.Clip(message),
        };
        db.OperationLog.Add(entry);
        await db.SaveChangesAsync(ct);
        return entry.Id;
    }

    /// <returns>Whether an admin's pause was still pending when the operation ended (it never took effect).</returns>
    private async Task<bool> SaveAsync(Operation state, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.Operations.SingleAsync(o => o.Id == state.Id, ct);
        // The admins' requests live in the row: the snapshot this write publishes carries them. (It carried the job's
        // own copy, so the page showed "Pause" again, with nothing pending, until the job reached a safe point.)
        state.PauseRequested = row.PauseRequested;
        state.CancelRequested = row.CancelRequested;
        var pauseNotTaken = state.IsFinished && row.PauseRequested;
        if (pauseNotTaken)
        {
            row.PauseRequested = state.PauseRequested = false;
        }

        row.State = state.State;
        row.Percent = state.Percent;
        row.CurrentStep = state.CurrentStep;
        row.ItemsDone = state.ItemsDone;
        row.ItemsTotal = state.ItemsTotal;
        row.BytesDone = state.BytesDone;
        row.BytesTotal = state.BytesTotal;
        row.Rate = state.Rate;
        row.RateUnit = state.RateUnit;
        row.EstimatedRemaining = state.EstimatedRemaining;
        row.Steps = state.Steps.Select(Copy).ToList();
        row.Results = state.Results.Select(r => new OperationResult { Name = r.Name, Value = r.Value }).ToList();
        row.Summary = state.Summary;
        row.Error = state.Error;
        row.StartedAt = state.StartedAt;
        row.FinishedAt = state.FinishedAt;
        row.UpdatedAt = state.UpdatedAt;
        row.Attempts = state.Attempts;
        await db.SaveChangesAsync(ct);
        return pauseNotTaken;
    }

    private static OperationStep Copy(OperationStep s) => new()
    {
        Key = s.Key,
        Title = s.Title,
        Weight = s.Weight,
        State = s.State,
        StartedAt = s.StartedAt,
        FinishedAt = s.FinishedAt,
        Summary = s.Summary,
    };

    private async Task SaveCheckpointAsync(Guid operationId, string stepKey, string data, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.OperationCheckpoints.SingleOrDefaultAsync(c => c.OperationId == operationId && c.StepKey == stepKey, ct);
        if (row is null)
        {
            row = new OperationCheckpoint { OperationId = operationId, StepKey = stepKey, Data = data };
            db.OperationCheckpoints.Add(row);
        }

        row.Data = data;
        row.SavedAt = _clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Drops the operation's checkpoints: of one step, or (null) of all.</summary>
    private async Task DropCheckpointsAsync(Guid operationId, string? stepKey, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.OperationCheckpoints.Where(c => c.OperationId == operationId && (stepKey == null || c.StepKey == stepKey)).ExecuteDeleteAsync(ct);
    }

    private sealed class Run(OperationJournal journal, Operation state, long lastLogId, DateTimeOffset startedAt, Dictionary<string, string> checkpoints) : IOperationRun
    {
        private readonly DateTimeOffset _attemptStartedAt = startedAt;
        private readonly TimeSpan _interval = journal._progressInterval;
        private DateTimeOffset _lastFlush = DateTimeOffset.MinValue;
        private bool _dirty;
        private long _lastLogId = lastLogId;
        private DateTimeOffset _stepStartedAt = startedAt;
        private StepProgress _stepBaseline;
        private bool _baselineSet;

        public Guid OperationId => state.Id;

        public string Kind => state.Kind;

        public DateTimeOffset RequestedAt => state.RequestedAt;

        public DateTimeOffset AttemptStartedAt => _attemptStartedAt;

        public bool IsStepDone(string stepKey) => Step(stepKey).State == StepState.Done;

        public string? GetCheckpoint(string stepKey)
        {
            Step(stepKey);
            return checkpoints.GetValueOrDefault(stepKey);
        }

        public async Task StartStepAsync(string stepKey, CancellationToken cancellationToken)
        {
            var step = Step(stepKey);
            var now = Now;
            step.State = StepState.Running;
            step.StartedAt ??= now;
            state.CurrentStep = stepKey;
            state.ItemsDone = 0;
            state.ItemsTotal = null;
            state.BytesDone = 0;
            state.BytesTotal = null;
            state.Rate = null;
            state.EstimatedRemaining = null;
            _stepStartedAt = now;
            _stepBaseline = default;
            _baselineSet = false;
            UpdatePercent(null);
            await FlushAsync(cancellationToken);
            if (stepKey == Cancellation.PointOfNoReturn(state.Kind) && (await journal.ControlAsync(state.Id, cancellationToken)).Cancel)
            {
                // Recorded as begun before this read: an admin's cancel either came first and is taken here, or comes
                // after and is refused (the step is running), never taken by neither.
                step.State = StepState.Pending;
                await FlushAsync(cancellationToken);
                throw new OperationCancelRequestedException();
            }
        }

        public ValueTask ReportAsync(StepProgress progress, CancellationToken cancellationToken)
        {
            if (!_baselineSet)
            {
                // Work already done when this attempt reached the step (a resumed copy) does not count towards its rate.
                _stepBaseline = progress;
                _baselineSet = true;
                _stepStartedAt = Now;
            }

            state.ItemsDone = progress.ItemsDone;
            state.ItemsTotal = progress.ItemsTotal;
            state.BytesDone = progress.BytesDone;
            state.BytesTotal = progress.BytesTotal;
            UpdateRate(progress);
            UpdatePercent(progress.Fraction);
            _dirty = true;

            return Now - _lastFlush >= _interval ? new ValueTask(FlushAsync(cancellationToken)) : ValueTask.CompletedTask;
        }

        public async Task SaveCheckpointAsync(string stepKey, string checkpointJson, CancellationToken cancellationToken)
        {
            Step(stepKey);
            await journal.SaveCheckpointAsync(state.Id, stepKey, checkpointJson, cancellationToken);
            checkpoints[stepKey] = checkpointJson;
        }

        public async Task CompleteStepAsync(string stepKey, string? summary, CancellationToken cancellationToken)
        {
            var step = Step(stepKey);
            step.State = StepState.Done;
            step.FinishedAt = Now;
            step.Summary = summary;
            state.Rate = null;
            state.EstimatedRemaining = null;
            UpdatePercent(null);
            await FlushAsync(cancellationToken);
            // Only once the step is recorded as done: a crash in between must not resume it without its checkpoint.
            if (checkpoints.Remove(stepKey))
            {
                await journal.DropCheckpointsAsync(state.Id, stepKey, cancellationToken);
            }
        }

        public async Task LogAsync(OperationLogLevel level, string message, CancellationToken cancellationToken)
        {
            _lastLogId = await journal.AppendLogAsync(state.Id, level, message, cancellationToken);
            await FlushAsync(cancellationToken);
        }

        public async Task SetResultAsync(string name, string value, CancellationToken cancellationToken)
        {
            state.Results.RemoveAll(r => r.Name == name);
            state.Results.Add(new OperationResult { Name = name, Value = value });
            await FlushAsync(cancellationToken);
        }

        public async Task<bool> IsPauseRequestedAsync(CancellationToken cancellationToken)
        {
            var (pause, cancel) = await journal.ControlAsync(state.Id, cancellationToken);
            return pause || (cancel && Cancellable);
        }

        /// <summary>Whether an admin's cancel still takes effect: the operation's kind can be cancelled and its point of no return has not begun.</summary>
        private bool Cancellable =>
            Cancellation.PointOfNoReturn(state.Kind) is { } point && Step(point).State == StepState.Pending;

        public async Task WaitWhilePausedAsync(CancellationToken cancellationToken)
        {
            var (pause, cancel) = await journal.ControlAsync(state.Id, cancellationToken);
            if (cancel && Cancellable)
            {
                throw new OperationCancelRequestedException();
            }

            if (!pause)
            {
                return;
            }

            state.State = OperationState.Paused;
            state.Rate = null;
            state.EstimatedRemaining = null;
            _lastLogId = await journal.AppendLogAsync(state.Id, OperationLogLevel.Info, "Paused by an admin; waiting to be resumed.", cancellationToken);
            await FlushAsync(cancellationToken);
            await journal._audit.RecordAsync(Actor.System, "operation.paused", state.Title, AuditOutcome.Succeeded, $"Operation {state.Id} paused at a safe point, as an admin asked.", cancellationToken);
            while (true)
            {
                (pause, cancel) = await journal.ControlAsync(state.Id, cancellationToken);
                if (cancel && Cancellable)
                {
                    throw new OperationCancelRequestedException();
                }

                if (!pause)
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(300), journal._clock, cancellationToken);
            }

            state.State = OperationState.Running;
            _stepStartedAt = Now;
            _baselineSet = false;
            _lastLogId = await journal.AppendLogAsync(state.Id, OperationLogLevel.Info, "Resumed.", cancellationToken);
            await FlushAsync(cancellationToken);
        }

        public async Task ResetStepsAsync(CancellationToken cancellationToken)
        {
            foreach (var step in state.Steps)
            {
                step.State = StepState.Pending;
                step.StartedAt = null;
                step.FinishedAt = null;
                step.Summary = null;
            }

            checkpoints.Clear();
            await journal.DropCheckpointsAsync(state.Id, null, cancellationToken);

            state.CurrentStep = null;
            UpdatePercent(null);
            await FlushAsync(cancellationToken);
        }

        public async Task SucceedAsync(string? summary, CancellationToken cancellationToken)
        {
            state.State = OperationState.Succeeded;
            state.Summary = summary;
            state.Percent = 100;
            state.CurrentStep = null;
            state.Rate = null;
            state.EstimatedRemaining = null;
            state.FinishedAt = Now;
            await FlushAsync(cancellationToken);
            PortalTelemetry.MoveEnded(state.Kind, succeeded: true, state.FinishedAt.Value - (state.StartedAt ?? state.RequestedAt));
        }

        public async Task FailAsync(string error, CancellationToken cancellationToken)
        {
            if (state.CurrentStep is { } current && Step(current).State == StepState.Running)
            {
                Step(current).State = StepState.Failed;
                Step(current).FinishedAt = Now;
            }

            state.State = OperationState.Failed;
            state.Error = StoredText.Clip(error);
            state.Rate = null;
            state.EstimatedRemaining = null;
            state.FinishedAt = Now;
            _lastLogId = await journal.AppendLogAsync(state.Id, OperationLogLevel.Error, error, cancellationToken);
            await FlushAsync(cancellationToken);
            PortalTelemetry.MoveEnded(state.Kind, succeeded: false, state.FinishedAt.Value - (state.StartedAt ?? state.RequestedAt));
        }

        public Task FailAtAsync(string stepKey, string error, CancellationToken cancellationToken)
        {
            var step = Step(stepKey);
            if (step.State != StepState.Done)
            {
                step.State = StepState.Failed;
                step.FinishedAt = Now;
            }

            return FailAsync(error, cancellationToken);
        }

        public async Task CancelledAsync(string summary, CancellationToken cancellationToken)
        {
            state.State = OperationState.Cancelled;
            state.Summary = summary;
            state.CurrentStep = null;
            state.Rate = null;
            state.EstimatedRemaining = null;
            state.FinishedAt = Now;
            _lastLogId = await journal.AppendLogAsync(state.Id, OperationLogLevel.Warning, summary, cancellationToken);
            await FlushAsync(cancellationToken);
            PortalTelemetry.MoveEnded(state.Kind, succeeded: false, state.FinishedAt.Value - (state.StartedAt ?? state.RequestedAt));
        }

        public async ValueTask DisposeAsync()
        {
            PortalTelemetry.MoveStopped(state.Kind);
            if (_dirty)
            {
                await FlushAsync(CancellationToken.None);
            }
        }

        internal async Task FlushAsync(CancellationToken cancellationToken)
        {
            state.UpdatedAt = Now;
            var pauseNotTaken = await journal.SaveAsync(state, cancellationToken);
            _lastFlush = Now;
            _dirty = false;
            journal._updates.Publish(OperationSnapshot.From(state, _lastLogId));
            if (pauseNotTaken)
            {
                await journal._audit.RecordAsync(Actor.System, "operation.pause", state.Title, AuditOutcome.Failed,
                    $"Operation {state.Id} ended ({state.State}) before its next safe point: the pause an admin asked for never took effect.", CancellationToken.None);
            }
        }

        private DateTimeOffset Now => journal._clock.GetUtcNow();

        private OperationStep Step(string key) =>
            state.Steps.FirstOrDefault(s => s.Key == key)
            ?? throw new InvalidOperationException($"Operation {state.Id} ({state.Kind}) has no step \"{key}\".");

        private void UpdateRate(StepProgress progress)
        {
            var seconds = (Now - _stepStartedAt).TotalSeconds;
            var byBytes = progress.BytesTotal is > 0 || progress.BytesDone > 0;
            var done = byBytes ? progress.BytesDone - _stepBaseline.BytesDone : progress.ItemsDone - _stepBaseline.ItemsDone;
            if (seconds < 0.2 || done <= 0)
            {
                return;
            }

            var rate = done / seconds;
            state.Rate = rate;
            state.RateUnit = byBytes ? RateUnit.Bytes : RateUnit.Items;
            var remaining = byBytes ? progress.BytesTotal - progress.BytesDone : progress.ItemsTotal - progress.ItemsDone;
            state.EstimatedRemaining = remaining is >= 0 ? TimeSpan.FromSeconds(remaining.Value / rate) : null;
        }

        private void UpdatePercent(double? runningFraction)
        {
            var total = state.Steps.Sum(s => s.Weight);
            if (total <= 0)
            {
                return;
            }

            var done = state.Steps.Where(s => s.State == StepState.Done).Sum(s => s.Weight);
            if (runningFraction is { } fraction && state.CurrentStep is { } current && Step(current).State == StepState.Running)
            {
                done += Step(current).Weight * fraction;
            }

            state.Percent = Math.Round(100 * done / total, 1);
        }
    }
}
