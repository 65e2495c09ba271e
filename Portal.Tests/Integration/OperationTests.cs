using System.Collections.Concurrent;
using System.Globalization;

namespace Portal.Tests.Integration;

[Collection(PortalAppCollection.Name)]
public sealed class OperationTests(PortalAppFixture app)
{
    [Fact]
    public async Task SelfCheck_RunsAsAJob_AndRecordsEveryStepAndFigure()
    {
        var updates = app.Services.GetRequiredService<OperationUpdates>();
        var seen = new ConcurrentQueue<OperationSnapshot>();
        using var subscription = updates.Subscribe(s =>
        {
            seen.Enqueue(s);
            return Task.CompletedTask;
        });

        var id = await app.Services.GetRequiredService<SelfCheckService>().StartAsync(PortalAppFixture.Admin);
        var done = await WaitFinishedAsync(id);

        Assert.Equal(OperationState.Succeeded, done.State);
        Assert.Equal(100, done.Percent);
        Assert.All(done.Steps, s => Assert.Equal(StepState.Done, s.State));
        Assert.Equal(NodeSelfCheckJob.Steps.Select(s => s.Key), done.Steps.Select(s => s.Key));
        Assert.True(long.Parse(done.Result("disk.freeBytes")!, CultureInfo.InvariantCulture) > 0);
        Assert.True(long.Parse(done.Result("disk.totalBytes")!, CultureInfo.InvariantCulture) >= long.Parse(done.Result("disk.freeBytes")!, CultureInfo.InvariantCulture));
        Assert.True(double.Parse(done.Result("disk.writeMBps")!, CultureInfo.InvariantCulture) > 0);
        Assert.True(double.Parse(done.Result("db.p95Ms")!, CultureInfo.InvariantCulture) >= double.Parse(done.Result("db.p50Ms")!, CultureInfo.InvariantCulture));
        Assert.True(double.Parse(done.Result("job.pickupMs")!, CultureInfo.InvariantCulture) >= 0);
        Assert.Equal(1, done.Attempts);

        // Live updates reached subscribers as the job went, in order, ending with the finished state. (The last one is
        // published just after the write the poll above saw: wait for it rather than race it.)
        var published = DateTime.UtcNow.AddSeconds(10);
        while (!seen.Any(s => s.Id == id && s.IsFinished) && DateTime.UtcNow < published)
        {
            await Task.Delay(20);
        }

        var mine = seen.Where(s => s.Id == id).ToList();
        Assert.True(mine.Count >= 4, $"expected several live updates, saw {mine.Count}");
        Assert.Equal(mine.Select(s => s.Percent).Order(), mine.Select(s => s.Percent));
        Assert.Equal(OperationState.Succeeded, mine[^1].State);

        await using var db = await app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var audit = await db.AuditEntries.Where(e => e.Action == "operation.start" && e.Details == $"Operation {id}").SingleAsync();
        Assert.Equal(AuditOutcome.Succeeded, audit.Outcome);
    }

    [Theory]
    [InlineData(PortalRoles.Reseller)]
    [InlineData(PortalRoles.User)]
    public async Task SelfCheck_ByNonAdmin_IsForbidden(string role)
    {
        await Assert.ThrowsAsync<PortalForbiddenException>(() =>
            app.Services.GetRequiredService<SelfCheckService>().StartAsync(PortalAppFixture.ActorFor("x", role)));
    }

    [Fact]
    public async Task Queries_ByNonAdmin_AreForbidden()
    {
        var queries = app.Services.GetRequiredService<OperationQueries>();
        var reseller = PortalAppFixture.ActorFor("r", PortalRoles.Reseller);

        await Assert.ThrowsAsync<PortalForbiddenException>(() => queries.ListAsync(reseller, new OperationListQuery()));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => queries.GetAsync(reseller, Guid.NewGuid()));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => queries.LogAsync(reseller, Guid.NewGuid(), 0));
    }

    [Fact]
    public async Task Journal_ASecondAttempt_SkipsFinishedStepsAndKeepsCheckpoints()
    {
        var id = await CreateOperationAsync("resume-test", ["one", "two", "three"]);
        var journal = app.Services.GetRequiredService<IOperationJournal>();

        await using (var first = await journal.BeginAsync(id, CancellationToken.None))
        {
            await first.StepAsync("one", _ => Task.FromResult<string?>("first done"), CancellationToken.None);
            await first.StartStepAsync("two", CancellationToken.None);
            await first.SaveCheckpointAsync("two", "{\"copied\":42}", CancellationToken.None);
            await first.ReportAsync(new StepProgress(42, 100), CancellationToken.None);
            // The process dies here: no completion, no failure.
        }

        await using var second = await journal.BeginAsync(id, CancellationToken.None);
        var ran = new List<string>();
        foreach (var step in new[] { "one", "two", "three" })
        {
            await second.StepAsync(step, _ =>
            {
                ran.Add(step);
                return Task.FromResult<string?>(null);
            }, CancellationToken.None);
        }

        Assert.Equal(["two", "three"], ran);
        var snapshot = await app.Services.GetRequiredService<OperationQueries>().GetAsync(PortalAppFixture.Admin, id);
        Assert.Equal(2, snapshot!.Attempts);
        Assert.Equal("first done", snapshot.Steps[0].Summary);
        Assert.Equal(100, snapshot.Percent);
    }

    [Fact]
    public async Task Journal_CheckpointSurvivesToTheNextAttempt()
    {
        var id = await CreateOperationAsync("checkpoint-test", ["copy"]);
        var journal = app.Services.GetRequiredService<IOperationJournal>();
        await using (var first = await journal.BeginAsync(id, CancellationToken.None))
        {
            await first.StartStepAsync("copy", CancellationToken.None);
            await first.SaveCheckpointAsync("copy", "{\"offset\":1234}", CancellationToken.None);
        }

        await using var second = await journal.BeginAsync(id, CancellationToken.None);

        Assert.Equal("{\"offset\":1234}", second.GetCheckpoint("copy"));
        Assert.False(second.IsStepDone("copy"));
    }

    [Fact]
    public async Task Journal_ACheckpointIsKeptApartFromTheOperationRow_AndGoesWhenItsStepIsDoneOrTheStepsAreReset()
    {
        var id = await CreateOperationAsync("checkpoint-table-test", ["copy", "verify"]);
        var journal = app.Services.GetRequiredService<IOperationJournal>();
        var large = new string('x', 200_000);
        await using (var run = await journal.BeginAsync(id, CancellationToken.None))
        {
            await run.StartStepAsync("copy", CancellationToken.None);
            await run.SaveCheckpointAsync("copy", large, CancellationToken.None);
            await run.SaveCheckpointAsync("verify", "{}", CancellationToken.None);
            await run.ReportAsync(new StepProgress(1, 2), CancellationToken.None);
            Assert.Equal(large, run.GetCheckpoint("copy"));
            Assert.Equal(["copy", "verify"], await CheckpointKeysAsync(id));
            // The row written on every progress report does not carry the checkpoint.
            Assert.True(await StepsJsonLengthAsync(id) < 10_000);

            await run.CompleteStepAsync("copy", null, CancellationToken.None);
            Assert.Null(run.GetCheckpoint("copy"));
            Assert.Equal(["verify"], await CheckpointKeysAsync(id));

            await run.ResetStepsAsync(CancellationToken.None);
            Assert.Empty(await CheckpointKeysAsync(id));
            Assert.Null(run.GetCheckpoint("verify"));
        }
    }

    private async Task<List<string>> CheckpointKeysAsync(Guid id)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.OperationCheckpoints.Where(c => c.OperationId == id).OrderBy(c => c.StepKey).Select(c => c.StepKey).ToListAsync();
    }

    private async Task<int> StepsJsonLengthAsync(Guid id)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.Database.SqlQuery<int>($"SELECT length(steps::text) AS \"Value\" FROM operations WHERE \"Id\" = {id}").SingleAsync();
    }

    [Fact]
    public async Task Journal_RapidProgress_IsCoalescedIntoAFewUpdates()
    {
        var id = await CreateOperationAsync("coalesce-test", ["work"]);
        var journal = app.Services.GetRequiredService<IOperationJournal>();
        var published = 0;
        using var subscription = app.Services.GetRequiredService<OperationUpdates>().Subscribe(s =>
        {
            if (s.Id == id)
            {
                Interlocked.Increment(ref published);
            }

            return Task.CompletedTask;
        });

        await using (var run = await journal.BeginAsync(id, CancellationToken.None))
        {
            await run.StartStepAsync("work", CancellationToken.None);
            var before = Volatile.Read(ref published);
            for (var i = 1; i <= 5000; i++)
            {
                await run.ReportAsync(new StepProgress(i, 5000, i * 10L, 50000), CancellationToken.None);
            }

            var during = Volatile.Read(ref published) - before;
            // 5000 reports in a tight loop fall within very few 250 ms windows.
            Assert.InRange(during, 0, 5);
            await run.CompleteStepAsync("work", "all done", CancellationToken.None);
            await run.SucceedAsync(null, CancellationToken.None);
        }

        var snapshot = await app.Services.GetRequiredService<OperationQueries>().GetAsync(PortalAppFixture.Admin, id);
        Assert.Equal(OperationState.Succeeded, snapshot!.State);
    }

    [Fact]
    public async Task Journal_Failure_MarksTheStepAndLogsTheError()
    {
        var id = await CreateOperationAsync("failure-test", ["a", "b"]);
        var journal = app.Services.GetRequiredService<IOperationJournal>();
        await using (var run = await journal.BeginAsync(id, CancellationToken.None))
        {
            await run.StepAsync("a", _ => Task.FromResult<string?>(null), CancellationToken.None);
            await run.StartStepAsync("b", CancellationToken.None);
            await run.FailAsync("The child node did not answer; check that it is online and retry.", CancellationToken.None);
        }

        var queries = app.Services.GetRequiredService<OperationQueries>();
        var snapshot = await queries.GetAsync(PortalAppFixture.Admin, id);
        var log = await queries.LogAsync(PortalAppFixture.Admin, id, 0);

        Assert.Equal(OperationState.Failed, snapshot!.State);
        Assert.Equal(StepState.Failed, snapshot.Steps[1].State);
        Assert.Contains("did not answer", snapshot.Error);
        Assert.Contains(log, l => l.Level == OperationLogLevel.Error && l.Message.Contains("did not answer", StringComparison.Ordinal));
        // An ended operation is not run again: a job that begins it learns so by its own exception type.
        await Assert.ThrowsAsync<OperationEndedException>(() => journal.BeginAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task Retry_QueuesTheOperationBeforeItsJob_SoAJobThatBeginsAtOnceRunsIt()
    {
        var journal = app.Services.GetRequiredService<IOperationJournal>();
        var id = await CreateOperationAsync(NodeSelfCheckJob.Kind, ["a", "b"]);
        await using (var run = await journal.BeginAsync(id, CancellationToken.None))
        {
            await run.StartStepAsync("a", CancellationToken.None);
            await run.FailAsync("The child node did not answer.", CancellationToken.None);
        }

        // A job server that begins the job the moment it is queued, as an idle Hangfire worker can.
        var begun = new List<Exception?>();
        var jobs = new BeginAtOnce(operationId =>
        {
            try
            {
                journal.BeginAsync(operationId, CancellationToken.None).GetAwaiter().GetResult().DisposeAsync().AsTask().GetAwaiter().GetResult();
                begun.Add(null);
            }
            catch (Exception ex)
            {
                begun.Add(ex);
            }
        });
        var control = ActivatorUtilities.CreateInstance<OperationControl>(app.Services, (Hangfire.IBackgroundJobClient)jobs);

        await control.RetryAsync(PortalAppFixture.Admin, id);

        Assert.Equal([null], begun);
        var snapshot = (await app.Services.GetRequiredService<OperationQueries>().GetAsync(PortalAppFixture.Admin, id))!;
        // The job's own Running stands; the retry did not write Queued over it afterwards.
        Assert.Equal(OperationState.Running, snapshot.State);
        Assert.Equal(2, snapshot.Attempts);
        Assert.Null(snapshot.Error);

        // Once it runs, it is not failed: a second retry is refused and queues nothing.
        var refused = await Assert.ThrowsAsync<PortalConflictException>(() => control.RetryAsync(PortalAppFixture.Admin, id));
        Assert.Equal("operation.not_failed", refused.Code);
        Assert.Single(begun);
    }

    [Fact]
    public async Task AnOperationRecordedWithoutItsJob_GetsItAtStartUp_UnlessHangfireHoldsOne()
    {
        // A process killed between recording the operation and queueing its job left it Queued, with no job id.
        var launcher = app.Services.GetRequiredService<OperationLauncher>();
        var steps = NodeSelfCheckJob.Steps.Select(s => new OperationStepPlan(s.Key, s.Title)).ToArray();
        var orphan = await launcher.StartAsync(PortalAppFixture.Admin, new OperationRequest(NodeSelfCheckJob.Kind, "orphan", null, steps), _ => null!);
        var held = await launcher.StartAsync(PortalAppFixture.Admin, new OperationRequest(NodeSelfCheckJob.Kind, "held", null, steps), _ => null!);
        var jobs = app.Services.GetRequiredService<Hangfire.IBackgroundJobClient>();
        // For the second, the job was queued (scheduled far off here) and only its id was not written.
        Hangfire.BackgroundJobClientExtensions.Schedule<NodeSelfCheckJob>(jobs, job => job.RunAsync(held, CancellationToken.None), TimeSpan.FromDays(1));
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var schema = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PortalSettings>>().Value.Jobs.Schema;
        Assert.True(await StartupTasks.JobExistsAsync(db, schema, held, CancellationToken.None));
        Assert.False(await StartupTasks.JobExistsAsync(db, schema, orphan, CancellationToken.None));

        var queued = await app.Services.GetRequiredService<OperationControl>().QueueOrphansAsync(
            (id, ct) => StartupTasks.JobExistsAsync(db, schema, id, ct), CancellationToken.None);

        Assert.True(queued >= 1);
        Assert.Equal(OperationState.Succeeded, (await WaitFinishedAsync(orphan)).State);
        var stillHeld = (await app.Services.GetRequiredService<OperationQueries>().GetAsync(PortalAppFixture.Admin, held))!;
        Assert.Equal(OperationState.Queued, stillHeld.State);
    }

    /// <summary>Runs <paramref name="begin"/> with the operation's id inside <c>Create</c>, before the caller gets the job id.</summary>
    private sealed class BeginAtOnce(Action<Guid> begin) : Hangfire.IBackgroundJobClient
    {
        public string Create(Hangfire.Common.Job job, Hangfire.States.IState state)
        {
            begin((Guid)job.Args[0]);
            return "job-at-once";
        }

        public bool ChangeState(string jobId, Hangfire.States.IState state, string expectedState) => false;
    }

    [Fact]
    public async Task APause_ShowsAsPendingAtOnce_IsAuditedAsRequested_AndWhenTheOperationEndsFirst_SaysItNeverTookEffect()
    {
        var id = await CreateOperationAsync("pause-late", ["one"]);
        var control = app.Services.GetRequiredService<OperationControl>();
        var seen = new ConcurrentQueue<OperationSnapshot>();
        using var subscription = app.Services.GetRequiredService<OperationUpdates>().Subscribe(s =>
        {
            if (s.Id == id)
            {
                seen.Enqueue(s);
            }

            return Task.CompletedTask;
        });
        await using (var run = await app.Services.GetRequiredService<IOperationJournal>().BeginAsync(id, CancellationToken.None))
        {
            await run.StepAsync("one", async ct =>
            {
                await control.PauseAsync(PortalAppFixture.Admin, id, ct);
                // The job's next progress write does not take the pending pause back off the page.
                seen.Clear();
                await run.ReportAsync(new StepProgress(5, 10), ct);
                await Task.Delay(TimeSpan.FromMilliseconds(600), ct);
                await run.ReportAsync(new StepProgress(6, 10), ct);
                return "done before any safe point";
            }, CancellationToken.None);
            await run.SucceedAsync("finished", CancellationToken.None);
        }

        Assert.NotEmpty(seen);
        Assert.All(seen.Where(s => !s.IsFinished), s => Assert.True(s.PauseRequested, $"a live update at {s.Percent}% showed no pause pending"));
        var finished = seen.Last();
        Assert.True(finished.IsFinished && !finished.PauseRequested);
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var entries = await db.AuditEntries.Where(e => e.Action != "operation.start" && e.Details != null && e.Details.StartsWith($"Operation {id}")).OrderBy(e => e.Id).Select(e => new { e.Action, e.Outcome, e.Details }).ToListAsync();
        Assert.Equal([("operation.pause", AuditOutcome.Requested), ("operation.pause", AuditOutcome.Failed)], entries.Select(e => (e.Action, e.Outcome)));
        Assert.Contains("the pause an admin asked for never took effect", entries[1].Details);
    }

    [Fact]
    public async Task APause_ThatTakesEffect_IsAuditedWhenItHappens()
    {
        var id = await CreateOperationAsync("pause-taken", ["one"]);
        var control = app.Services.GetRequiredService<OperationControl>();
        await using (var run = await app.Services.GetRequiredService<IOperationJournal>().BeginAsync(id, CancellationToken.None))
        {
            await control.PauseAsync(PortalAppFixture.Admin, id);
            var waiting = run.WaitWhilePausedAsync(CancellationToken.None);
            await WaitStateAsync(id, OperationState.Paused);
            await control.ResumeAsync(PortalAppFixture.Admin, id);
            await waiting.WaitAsync(TimeSpan.FromSeconds(10));
            await run.SucceedAsync("finished", CancellationToken.None);
        }

        await using var db = await app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var actions = await db.AuditEntries.Where(e => e.Action != "operation.start" && e.Details != null && e.Details.StartsWith($"Operation {id}")).OrderBy(e => e.Id).Select(e => new { e.Action, e.Outcome }).ToListAsync();
        Assert.Equal([("operation.pause", AuditOutcome.Requested), ("operation.paused", AuditOutcome.Succeeded), ("operation.resume", AuditOutcome.Succeeded)], actions.Select(a => (a.Action, a.Outcome)));
    }

    private async Task WaitStateAsync(Guid id, OperationState state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await app.Services.GetRequiredService<OperationQueries>().GetAsync(PortalAppFixture.Admin, id))?.State != state)
        {
            Assert.True(DateTime.UtcNow < deadline, $"operation {id} did not become {state}");
            await Task.Delay(50);
        }
    }

    private async Task<Guid> CreateOperationAsync(string kind, string[] steps)
    {
        var launcher = app.Services.GetRequiredService<OperationLauncher>();
        var request = new OperationRequest(kind, kind, null, steps.Select(s => new OperationStepPlan(s, s)).ToArray());
        // No job: the test drives the journal itself, as a job would.
        return await launcher.StartAsync(PortalAppFixture.Admin, request, _ => "none");
    }

    private async Task<OperationSnapshot> WaitFinishedAsync(Guid id)
    {
        var queries = app.Services.GetRequiredService<OperationQueries>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var snapshot = await queries.GetAsync(PortalAppFixture.Admin, id);
            if (snapshot is { IsFinished: true })
            {
                return snapshot;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Operation {id} did not finish within 60 s.");
    }
}
