namespace Portal.Tests.Support;

/// <summary>An operation run that records what a job logs and how it ended (and supports nothing else).</summary>
internal sealed class RecordingRun : IOperationRun
{
    public List<string> Lines { get; } = [];

    public Guid OperationId { get; } = Guid.NewGuid();

    public string Kind => "mail-copy";

    public DateTimeOffset RequestedAt { get; } = DateTimeOffset.UtcNow;

    public DateTimeOffset AttemptStartedAt { get; } = DateTimeOffset.UtcNow;

    public Task LogAsync(OperationLogLevel level, string message, CancellationToken cancellationToken)
    {
        lock (Lines)
        {
            Lines.Add(message);
        }

        return Task.CompletedTask;
    }

    public Task WaitWhilePausedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The steps recorded done (none unless a test says so).</summary>
    public HashSet<string> Done { get; } = [];

    /// <summary>How the run ended: "Failed", "Failed at &lt;step&gt;" or "Cancelled", with its message; null while it runs.</summary>
    public (string How, string Message)? Ending { get; private set; }

    public bool StepsReset { get; private set; }

    public bool IsStepDone(string stepKey) => Done.Contains(stepKey);

    public string? GetCheckpoint(string stepKey) => throw new NotSupportedException();

    public Task StartStepAsync(string stepKey, CancellationToken cancellationToken) => throw new NotSupportedException();

    public ValueTask ReportAsync(StepProgress progress, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SaveCheckpointAsync(string stepKey, string checkpointJson, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task CompleteStepAsync(string stepKey, string? summary, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SetResultAsync(string name, string value, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<bool> IsPauseRequestedAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task ResetStepsAsync(CancellationToken cancellationToken)
    {
        StepsReset = true;
        return Task.CompletedTask;
    }

    public Task SucceedAsync(string? summary, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task FailAsync(string error, CancellationToken cancellationToken) => End("Failed", error);

    public Task CancelledAsync(string summary, CancellationToken cancellationToken) => End("Cancelled", summary);

    public Task FailAtAsync(string stepKey, string error, CancellationToken cancellationToken) => End($"Failed at {stepKey}", error);

    private Task End(string how, string message)
    {
        Ending = (how, message);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
