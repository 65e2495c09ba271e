using System.Globalization;
using System.Text.RegularExpressions;

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
}
