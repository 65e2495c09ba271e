using Bunit;
using Portal.Components.Operations;

namespace Portal.Tests.Components;

public sealed class OperationProgressTests : MudTestContext
{
    [Fact]
    public void Running_ShowsStepPercentCountsRateAndTimeLeft()
    {
        var snapshot = Snapshot(OperationState.Running, 42.5) with
        {
            CurrentStep = "copy",
            ItemsDone = 1200,
            ItemsTotal = 4000,
            BytesDone = 300L * 1024 * 1024,
            BytesTotal = 1024L * 1024 * 1024,
            Rate = 50 * 1024 * 1024,
            RateUnit = RateUnit.Bytes,
            EstimatedRemaining = TimeSpan.FromSeconds(95),
        };

        var cut = Render<OperationProgress>(p => p.Add(c => c.Operation, snapshot));

        Assert.Equal("42.5 %", cut.Find("[data-testid=operation-percent]").TextContent.Trim());
        Assert.Equal("Copy mail", cut.Find("[data-testid=operation-step]").TextContent.Trim());
        var counters = cut.Find("[data-testid=operation-counters]").TextContent;
        Assert.Contains("1,200 of 4,000", counters);
        Assert.Contains("300 MiB of 1 GiB", counters);
        Assert.Contains("50 MiB/s", counters);
        Assert.Contains("about 1 min 35 s left", counters);
        Assert.Equal("42.5", cut.Find("[data-testid=operation-progress]").GetAttribute("data-percent"));
    }

    [Fact]
    public void Failed_ShowsTheErrorAndNoCounters()
    {
        var snapshot = Snapshot(OperationState.Failed, 30) with { Error = "The child node did not answer.", ItemsDone = 5, ItemsTotal = 10 };

        var cut = Render<OperationProgress>(p => p.Add(c => c.Operation, snapshot));

        Assert.Contains("The child node did not answer.", cut.Find("[data-testid=operation-error]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=operation-counters]"));
        Assert.Equal("Failed", cut.Find("[data-testid=operation-state]").TextContent.Trim());
    }

    internal static OperationSnapshot Snapshot(OperationState state, double percent) => new(
        Guid.NewGuid(), "test", "Test operation", null, state, percent, null, 0, null, 0, null, null, RateUnit.Items, null,
        [new StepSnapshot("copy", "Copy mail", StepState.Running, null, null, null)], [], null, null, "admin",
        DateTimeOffset.UtcNow, null, null, DateTimeOffset.UtcNow, 1, 0);
}
