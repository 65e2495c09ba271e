namespace Portal.Tests.Support;

/// <summary>A clock whose timers fire at once: a job's waits are recorded by what it logs, not waited.</summary>
public sealed class InstantClock : TimeProvider
{
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        base.CreateTimer(callback, state, TimeSpan.Zero, period);
}
