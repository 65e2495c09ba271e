using Bunit;
using Portal.Areas.Admin;

namespace Portal.Tests.Components;

/// <summary>The operation page follows the job live: pushed updates re-render it, and it reads new log lines.</summary>
public sealed class OperationDetailTests : ComponentTestContext
{
    [Fact]
    public async Task PushedUpdates_ReRenderProgressAndStepsWithoutReloading()
    {
        var operation = await InsertAsync();
        var cut = Render<OperationDetail>(p => p.Add(c => c.Id, operation.Id));
        cut.WaitForAssertion(() => Assert.Equal("10", cut.Find("[data-testid=operation-progress]").GetAttribute("data-percent")), Patience);

        var updates = Services.GetRequiredService<OperationUpdates>();
        var running = OperationSnapshot.From(operation, 0) with
        {
            Percent = 55,
            UpdatedAt = DateTimeOffset.UtcNow.AddSeconds(1),
            CurrentStep = "two",
            Steps =
            [
                new StepSnapshot("one", "Step one", StepState.Done, null, null, "one finished"),
                new StepSnapshot("two", "Step two", StepState.Running, null, null, null),
            ],
        };
        updates.Publish(running);

        cut.WaitForAssertion(() =>
        {
            Assert.Equal("55", cut.Find("[data-testid=operation-progress]").GetAttribute("data-percent"));
            Assert.Equal("Step two", cut.Find("[data-testid=operation-step]").TextContent.Trim());
            Assert.Contains("one finished", cut.Find("[data-step=one]").TextContent);
        }, Patience);
    }

    [Fact]
    public async Task PushedUpdate_WithNewLogLines_ShowsThem()
    {
        var operation = await InsertAsync();
        var cut = Render<OperationDetail>(p => p.Add(c => c.Id, operation.Id));
        cut.WaitForAssertion(() => cut.Find("[data-testid=operation-progress]"), Patience);

        long logId;
        await using (var db = OpenDb())
        {
            var entry = new OperationLogEntry { OperationId = operation.Id, At = DateTimeOffset.UtcNow, Level = OperationLogLevel.Warning, Message = "The child is slow to answer." };
            db.OperationLog.Add(entry);
            await db.SaveChangesAsync();
            logId = entry.Id;
        }

        Services.GetRequiredService<OperationUpdates>().Publish(OperationSnapshot.From(operation, logId) with { UpdatedAt = DateTimeOffset.UtcNow.AddSeconds(1) });

        cut.WaitForAssertion(() => Assert.Contains("The child is slow to answer.", cut.Find("[data-testid=operation-log]").TextContent), Patience);
    }

    [Fact]
    public async Task TheLog_ShowsEachEntryOnALineOfItsOwn_WithItsTimeAndLevel()
    {
        var operation = await InsertAsync();
        var at = new DateTimeOffset(2026, 11, 30, 8, 28, 30, 577, TimeSpan.Zero);
        await using (var db = OpenDb())
        {
            db.OperationLog.Add(new OperationLogEntry { OperationId = operation.Id, At = at, Level = OperationLogLevel.Info, Message = "Copied 1501 message(s), 45.1 MiB." });
            db.OperationLog.Add(new OperationLogEntry { OperationId = operation.Id, At = at.AddSeconds(1), Level = OperationLogLevel.Warning, Message = "The child is slow to answer." });
            await db.SaveChangesAsync();
        }

        var cut = Render<OperationDetail>(p => p.Add(c => c.Id, operation.Id));

        // (The page showed them in one run of text: "...45.1 MiB.08:28:31.577 WARNING ...".)
        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=operation-log-line]").Count), Patience);
        var lines = cut.FindAll("[data-testid=operation-log-line]");
        Assert.Equal("08:28:30.577 INFO Copied 1501 message(s), 45.1 MiB.", lines[0].TextContent.Trim());
        Assert.Equal("08:28:31.577 WARNING The child is slow to answer.", lines[1].TextContent.Trim());
        Assert.Equal("Warning", lines[1].GetAttribute("data-level"));
    }

    [Fact]
    public async Task AnUpdateOfAnotherOperation_DoesNotChangeThisPage()
    {
        var operation = await InsertAsync();
        var other = await InsertAsync();
        var cut = Render<OperationDetail>(p => p.Add(c => c.Id, operation.Id));
        cut.WaitForAssertion(() => cut.Find("[data-testid=operation-progress]"), Patience);

        Services.GetRequiredService<OperationUpdates>().Publish(OperationSnapshot.From(other, 0) with { Percent = 90, UpdatedAt = DateTimeOffset.UtcNow.AddSeconds(1) });
        await Task.Delay(200);

        Assert.Equal("10", cut.Find("[data-testid=operation-progress]").GetAttribute("data-percent"));
    }

    [Fact]
    public async Task TheOperationsPage_OpensOnAll_SoFinishedOperationsShowWhenNothingRuns()
    {
        var finished = await InsertAsync();
        await using (var db = OpenDb())
        {
            await db.Operations.Where(o => o.Id == finished.Id).ExecuteUpdateAsync(u => u.SetProperty(o => o.State, OperationState.Succeeded).SetProperty(o => o.Percent, 100));
        }

        Services.AddSingleton<OperationLauncher>();
        Services.AddSingleton<SelfCheckService>();
        var cut = Render<Operations>();

        // (It opened on "Running" and said "No operations here yet.")
        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("[data-testid=operation-row]")), Patience);
        Assert.Empty(cut.FindAll("[data-testid=no-operations]"));

        // Found and clicked in one dispatch: the page may re-render between the two otherwise (bUnit's own advice).
        await cut.InvokeAsync(() => cut.FindAll(".mud-tab").Single(t => t.TextContent.Trim() == "Running").Click());
        cut.WaitForAssertion(() => Assert.Equal("Nothing is running now.", cut.Find("[data-testid=no-operations]").TextContent.Trim()), Patience);
    }

    [Fact]
    public void UnknownOperation_SaysSo()
    {
        var cut = Render<OperationDetail>(p => p.Add(c => c.Id, Guid.NewGuid()));

        cut.WaitForAssertion(() => cut.Find("[data-testid=operation-not-found]"), Patience);
    }

    private async Task<Operation> InsertAsync()
    {
        var operation = new Operation
        {
            Id = Guid.NewGuid(),
            Kind = "test",
            Title = "Test operation",
            State = OperationState.Running,
            Percent = 10,
            CurrentStep = "one",
            RequestedBy = "admin",
            RequestedAt = DateTimeOffset.UtcNow,
            UpdatedAt = DateTimeOffset.UtcNow,
            Steps =
            [
                new OperationStep { Key = "one", Title = "Step one", State = StepState.Running },
                new OperationStep { Key = "two", Title = "Step two" },
            ],
        };
        await using var db = OpenDb();
        db.Operations.Add(operation);
        await db.SaveChangesAsync();
        return operation;
    }
}
