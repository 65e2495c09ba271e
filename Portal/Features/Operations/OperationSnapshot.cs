namespace Portal.Features.Operations;

/// <summary>What the UI shows of an operation: an immutable copy, safe to hand to any number of circuits.</summary>
public sealed record OperationSnapshot(
    Guid Id,
    string Kind,
    string Title,
    string? Target,
    OperationState State,
    double Percent,
    string? CurrentStep,
    long ItemsDone,
    long? ItemsTotal,
    long BytesDone,
    long? BytesTotal,
    double? Rate,
    RateUnit RateUnit,
    TimeSpan? EstimatedRemaining,
    IReadOnlyList<StepSnapshot> Steps,
    IReadOnlyList<KeyValuePair<string, string>> Results,
    string? Summary,
    string? Error,
    string RequestedBy,
    DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset UpdatedAt,
    int Attempts,
    long LastLogId,
    bool PauseRequested = false,
    bool CancelRequested = false)
{
    public bool IsFinished => State is OperationState.Succeeded or OperationState.Failed or OperationState.Cancelled;

    /// <summary>Whether an admin can ask it to pause: it waits or runs, and no pause is pending.</summary>
    public bool CanPause => State is OperationState.Queued or OperationState.Running && !PauseRequested;

    /// <summary>A pause was asked for and it has not reached its next safe point yet.</summary>
    public bool IsPausing => PauseRequested && State is OperationState.Queued or OperationState.Running;

    /// <summary>Whether an admin can let it go on: it is paused, or a pause is pending.</summary>
    public bool CanResume => State == OperationState.Paused || PauseRequested;

    /// <summary>Whether an admin can run it again from where it failed (<see cref="OperationControl.RetryAsync"/>).</summary>
    public bool CanRetry => State == OperationState.Failed;

    /// <summary>
    /// Whether an admin can still cancel it (what <see cref="OperationControl.CancelAsync"/> accepts): a kind that can be
    /// undone, not ended (a failed one can be), not yet at its point of no return, and not already asked to.
    /// </summary>
    public bool CanCancel =>
        Cancellation.PointOfNoReturn(Kind) is { } point && !CancelRequested
        && State is OperationState.Queued or OperationState.Running or OperationState.Paused or OperationState.Failed
        && Steps.FirstOrDefault(s => s.Key == point) is not { State: StepState.Running or StepState.Done or StepState.Failed };

    public string? CurrentStepTitle => Steps.FirstOrDefault(s => s.Key == CurrentStep)?.Title;

    public string? Result(string name) => Results.FirstOrDefault(r => r.Key == name).Value;

    public static OperationSnapshot From(Operation o, long lastLogId) => new(
        o.Id, o.Kind, o.Title, o.Target, o.State, o.Percent, o.CurrentStep, o.ItemsDone, o.ItemsTotal, o.BytesDone, o.BytesTotal,
        o.Rate, o.RateUnit, o.EstimatedRemaining,
        o.Steps.Select(s => new StepSnapshot(s.Key, s.Title, s.State, s.StartedAt, s.FinishedAt, s.Summary)).ToArray(),
        o.Results.Select(r => KeyValuePair.Create(r.Name, r.Value)).ToArray(),
        o.Summary, o.Error, o.RequestedBy, o.RequestedAt, o.StartedAt, o.FinishedAt, o.UpdatedAt, o.Attempts, lastLogId, o.PauseRequested, o.CancelRequested);
}

public sealed record StepSnapshot(string Key, string Title, StepState State, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Summary);

public sealed record LogLine(long Id, DateTimeOffset At, OperationLogLevel Level, string Message);
