using System.Globalization;
using System.Text.RegularExpressions;
using Portal.Jobs.Mail;
using Portal.Jobs.Nodes;
using Portal.Jobs.Operations;

namespace Portal.Tests.Mail;

/// <summary>A move waits out a node that is away with growing, jittered waits, and gives up when its window has passed.</summary>
public sealed partial class MoveRetryTests
{
    [Fact]
    public async Task Waits_GrowUpToHalfAMinute_EachJitteredByAQuarter_AndNotAllAlike()
    {
        var run = new RecordingRun();
        var failures = 0;

        var result = await new MoveRetry(run, new InstantClock(), TimeSpan.FromHours(1)).RunAsync(() =>
            ++failures <= 8 ? throw new NodeUnreachableException("away") : Task.FromResult(42), CancellationToken.None);

        Assert.Equal(42, result);
        var waits = run.Lines.Select(line => double.Parse(WaitPattern().Match(line).Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        double[] planned = [1, 2, 4, 8, 16, 30, 30, 30];
        Assert.Equal(planned.Length, waits.Count);
        for (var i = 0; i < planned.Length; i++)
        {
            Assert.InRange(waits[i], planned[i] * 0.75 - 0.05, planned[i] * 1.25 + 0.05);
        }

        Assert.NotEqual(planned, waits.ToArray());
    }

    [Fact]
    public async Task AFailureThatIsNotTransient_IsNotRetried()
    {
        var run = new RecordingRun();

        await Assert.ThrowsAsync<NodeRequestException>(() => new MoveRetry(run, new InstantClock(), TimeSpan.FromHours(1))
            .RunAsync(() => throw new NodeRequestException(409, "account.exists", "taken"), CancellationToken.None));

        Assert.Empty(run.Lines);
    }

    [GeneratedRegex(@"trying again in ([0-9.]+) s\.")]
    private static partial Regex WaitPattern();

    /// <summary>A clock whose timers fire at once: the waits are recorded, not waited.</summary>
    private sealed class InstantClock : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            base.CreateTimer(callback, state, TimeSpan.Zero, period);
    }

    /// <summary>An operation run that keeps the lines logged to it; nothing else is used by a retry.</summary>
    private sealed class RecordingRun : IOperationRun
    {
        public List<string> Lines { get; } = [];

        public Guid OperationId { get; } = Guid.NewGuid();

        public string Kind => "mail-copy";

        public DateTimeOffset RequestedAt { get; } = DateTimeOffset.UtcNow;

        public DateTimeOffset AttemptStartedAt { get; } = DateTimeOffset.UtcNow;

        public Task LogAsync(OperationLogLevel level, string message, CancellationToken cancellationToken)
        {
            Lines.Add(message);
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

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
