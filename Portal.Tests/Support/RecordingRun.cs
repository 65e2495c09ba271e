using Portal.Jobs.Operations;

namespace Portal.Tests.Support;

/// <summary>An operation run that records what a job logs (and supports nothing else).</summary>
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

    public bool IsStepDone(string stepKey) => throw new NotSupportedException();

    public string? GetCheckpoint(string stepKey) => throw new NotSupportedException();

    public Task StartStepAsync(string stepKey, CancellationToken cancellationToken) => throw new NotSupportedException();

    public ValueTask ReportAsync(StepProgress progress, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SaveCheckpointAsync(string stepKey, string checkpointJson, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task CompleteStepAsync(string stepKey, string? summary, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SetResultAsync(string name, string value, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<bool> IsPauseRequestedAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task ResetStepsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SucceedAsync(string? summary, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task FailAsync(string error, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task CancelledAsync(string summary, CancellationToken cancellationToken) => throw new NotSupportedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
