using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Portal.Areas.Admin;
using Portal.Features.Operations;
using Portal.Jobs.Operations;

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
