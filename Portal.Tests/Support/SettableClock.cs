namespace Portal.Tests.Support;

/// <summary>A clock that reads what the test set.</summary>
public sealed class SettableClock(DateTimeOffset now) : TimeProvider
{
    public SettableClock()
        : this(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
