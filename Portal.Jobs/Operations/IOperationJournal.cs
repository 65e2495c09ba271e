namespace Portal.Jobs.Operations;

/// <summary>
/// Where a job records the progress of the operation it runs. <c>Portal</c> implements it (the database and
/// the live updates to browsers); the jobs here know only this interface.
/// </summary>
public interface IOperationJournal
{
    /// <summary>
    /// Marks the operation running and returns a handle for this attempt. Steps finished by an earlier attempt
    /// stay finished, so a retried or resumed job continues where the last one stopped.
    /// </summary>
    Task<IOperationRun> BeginAsync(Guid operationId, CancellationToken cancellationToken);
}

public enum OperationLogLevel
{
    Info,
    Warning,
    Error,
}

/// <summary>One attempt at running an operation. Not thread-safe: one job drives it.</summary>
public interface IOperationRun : IAsyncDisposable
{
    Guid OperationId { get; }

    /// <summary>The operation's kind (a job's <c>Kind</c>), for the metrics a job records.</summary>
    string Kind { get; }

    /// <summary>When the operation was requested (enqueued); the self-check uses it for pick-up latency.</summary>
    DateTimeOffset RequestedAt { get; }

    /// <summary>When this attempt began.</summary>
    DateTimeOffset AttemptStartedAt { get; }

    bool IsStepDone(string stepKey);

    /// <summary>The last checkpoint a step saved (JSON), for resuming a step part-way.</summary>
    string? GetCheckpoint(string stepKey);

    Task StartStepAsync(string stepKey, CancellationToken cancellationToken);

    /// <summary>
    /// Reports progress inside the running step. Cheap to call often: writes and live updates are coalesced
    /// to a few a second.
    /// </summary>
    ValueTask ReportAsync(StepProgress progress, CancellationToken cancellationToken);

    Task SaveCheckpointAsync(string stepKey, string checkpointJson, CancellationToken cancellationToken);

    Task CompleteStepAsync(string stepKey, string? summary, CancellationToken cancellationToken);

    Task LogAsync(OperationLogLevel level, string message, CancellationToken cancellationToken);

    /// <summary>Records a named result of the operation (shown with it, kept with it).</summary>
    Task SetResultAsync(string name, string value, CancellationToken cancellationToken);

    /// <summary>
    /// Returns at once unless an admin paused the operation; then shows it paused and waits until it is resumed.
    /// Long jobs call it between units of work (a batch of a copy). An admin's cancel, asked for before the
    /// operation's point of no return (<see cref="Cancellation"/>), throws <see cref="OperationCancelRequestedException"/> here.
    /// </summary>
    Task WaitWhilePausedAsync(CancellationToken cancellationToken);

    /// <summary>Whether an admin asked for a pause or a cancel (without waiting), so a job can first finish what is in flight.</summary>
    Task<bool> IsPauseRequestedAsync(CancellationToken cancellationToken);

    /// <summary>Marks every step pending again (work undone, as after a move abandoned before its switch).</summary>
    Task ResetStepsAsync(CancellationToken cancellationToken);

    Task SucceedAsync(string? summary, CancellationToken cancellationToken);

    Task FailAsync(string error, CancellationToken cancellationToken);

    /// <summary>Fails the operation with this step marked failed (one whose effect was made though it was not recorded done).</summary>
    Task FailAtAsync(string stepKey, string error, CancellationToken cancellationToken);

    /// <summary>Ends the operation Cancelled (after the job undid its work), with what happened.</summary>
    Task CancelledAsync(string summary, CancellationToken cancellationToken);
}

/// <summary>Counters of the running step. Totals are null when not known yet.</summary>
public readonly record struct StepProgress(long ItemsDone, long? ItemsTotal, long BytesDone = 0, long? BytesTotal = null)
{
    /// <summary>The step's fraction done, from bytes when their total is known, else from items.</summary>
    public double? Fraction =>
        BytesTotal is > 0 ? Math.Clamp((double)BytesDone / BytesTotal.Value, 0, 1)
        : ItemsTotal is > 0 ? Math.Clamp((double)ItemsDone / ItemsTotal.Value, 0, 1)
        : null;
}

/// <summary>A job began an operation that has already ended (succeeded, failed or was cancelled): there is nothing to run.</summary>
public sealed class OperationEndedException(string message) : InvalidOperationException(message);

/// <summary>
/// An admin cancelled the operation before its point of no return: thrown at the job's next safe point (where it would
/// pause), so the job undoes what it did and ends the operation Cancelled.
/// </summary>
public sealed class OperationCancelRequestedException() : Exception("An admin cancelled it.");

/// <summary>
/// Which operations an admin can cancel, and the step after which each can no longer be undone: a move's switch (the
/// other node serves the mail from then on), a transfer's import (the account exists here).
/// </summary>
public static class Cancellation
{
    private static readonly Dictionary<string, string> PointsOfNoReturn = new(StringComparer.Ordinal)
    {
        [MailCopyJob.Kind] = "switch",
        [MailReturnJob.Kind] = "switch",
        [MailRelayJob.Kind] = "switch",
        [AccountTransferJob.Kind] = "import",
    };

    /// <summary>The step from whose start on an operation of this kind cannot be cancelled; null if it cannot be cancelled at all.</summary>
    public static string? PointOfNoReturn(string kind) => PointsOfNoReturn.GetValueOrDefault(kind);
}

public static class OperationJournalExtensions
{
    /// <summary>
    /// Begins an attempt, first saying on the operation why it runs again (<paramref name="resumed"/>, from
    /// <see cref="DatabaseAway.RideOutAsync"/>), when it does.
    /// </summary>
    public static async Task<IOperationRun> BeginAsync(this IOperationJournal journal, Guid operationId, string? resumed, CancellationToken cancellationToken)
    {
        var run = await journal.BeginAsync(operationId, cancellationToken);
        try
        {
            if (resumed is not null)
            {
                await run.LogAsync(OperationLogLevel.Warning, resumed, cancellationToken);
            }

            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }
}
