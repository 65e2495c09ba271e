namespace Portal.Jobs.Mail;

/// <summary>One account of a bulk move: where its mail goes (<see cref="Guid.Empty"/>: this node) and how much it is.</summary>
public sealed record BulkMoveItem(string Username, Guid Target, long Bytes);

/// <summary>A bulk move's accounts, and how many of their moves run at once.</summary>
public sealed record BulkMovePlan(IReadOnlyList<BulkMoveItem> Items, int Concurrency);

/// <summary>Where a started move stands: its state and percent.</summary>
public sealed record MoveStanding(string State, double Percent);

/// <summary>What the bulk move job needs of <c>Portal</c>: its plan, starting one account's move, and how the moves stand.</summary>
public interface IBulkMoveSteps
{
    Task<BulkMovePlan> LoadAsync(Guid operationId, CancellationToken cancellationToken);

    /// <summary>Starts one account's move as its own operation; a refusal comes back as the problem, not as an exception.</summary>
    Task<(Guid? OperationId, string? Problem)> StartAsync(Guid operationId, BulkMoveItem item, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<Guid, MoveStanding>> StandingsAsync(IReadOnlyCollection<Guid> operationIds, CancellationToken cancellationToken);
}

/// <summary>
/// Moves the mail of many accounts (the guide's "dedistribute every account on this child", or a chosen set to one
/// node): one operation whose step starts a move operation per account, never more than the plan's concurrency at
/// once, and sums their progress by the accounts' sizes. A pause holds the starting of further moves. The moves it
/// started are recorded as it goes, so a restarted job follows them instead of starting them again.
/// </summary>
public sealed class BulkMoveJob(IOperationJournal journal, IBulkMoveSteps steps, TimeProvider clock, ILogger<BulkMoveJob> logger)
{
    public const string Kind = "bulk-move";

    public static readonly IReadOnlyList<OperationStepPlan> Steps = [new("moves", "Move each account's mail (an operation each)", 1)];

    private static readonly string[] Ended = ["Succeeded", "Failed", "Cancelled"];

    /// <summary>What became of each account: its move's id, or why it did not start.</summary>
    private sealed record Started(Dictionary<string, Guid> Moves, Dictionary<string, string> Refused);

    [AutomaticRetry(Attempts = 0)]
    [Queue(JobQueues.Default)]
    [JobDisplayName("Bulk move {0}")]
    public async Task RunAsync(Guid operationId, CancellationToken cancellationToken)
    {
        await using var run = await journal.BeginAsync(operationId, cancellationToken);
        var plan = await steps.LoadAsync(operationId, cancellationToken);
        var started = run.GetCheckpoint("moves") is { } saved
            ? JsonSerializer.Deserialize<Started>(saved)!
            : new Started(new(StringComparer.Ordinal), new(StringComparer.Ordinal));
        var outcomes = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            await run.StepAsync("moves", async ct =>
            {
                var pending = new Queue<BulkMoveItem>(plan.Items.Where(i => !started.Moves.ContainsKey(i.Username) && !started.Refused.ContainsKey(i.Username)));
                var total = plan.Items.Sum(i => i.Bytes);
                while (true)
                {
                    var standings = await steps.StandingsAsync(started.Moves.Values, ct);
                    var running = started.Moves.Count(m => standings.TryGetValue(m.Value, out var s) && !Ended.Contains(s.State));
                    while (running < plan.Concurrency && pending.Count > 0)
                    {
                        await run.WaitWhilePausedAsync(ct);
                        var item = pending.Dequeue();
                        var (id, problem) = await steps.StartAsync(operationId, item, ct);
                        if (id is { } move)
                        {
                            started.Moves[item.Username] = move;
                            running++;
                            await run.LogAsync(OperationLogLevel.Info, $"{item.Username}: move started, /admin/operations/{move}.", ct);
                        }
                        else
                        {
                            started.Refused[item.Username] = problem ?? "refused";
                            await run.LogAsync(OperationLogLevel.Warning, $"{item.Username}: not moved: {problem}", ct);
                        }

                        await run.SaveCheckpointAsync("moves", JsonSerializer.Serialize(started), ct);
                    }

                    standings = await steps.StandingsAsync(started.Moves.Values, ct);
                    long done = 0, finished = started.Refused.Count;
                    foreach (var item in plan.Items)
                    {
                        if (started.Moves.TryGetValue(item.Username, out var move) && standings.TryGetValue(move, out var standing))
                        {
                            var ended = Ended.Contains(standing.State);
                            finished += ended ? 1 : 0;
                            done += ended ? item.Bytes : (long)(item.Bytes * standing.Percent / 100);
                            if (ended && outcomes.TryAdd(item.Username, standing.State))
                            {
                                await run.LogAsync(standing.State == "Succeeded" ? OperationLogLevel.Info : OperationLogLevel.Warning,
                                    $"{item.Username}: {standing.State.ToLowerInvariant()}.", ct);
                            }
                        }
                        else if (started.Refused.ContainsKey(item.Username))
                        {
                            done += item.Bytes;
                        }
                    }

                    await run.ReportAsync(new StepProgress(finished, plan.Items.Count, done, total), ct);
                    if (pending.Count == 0 && finished == plan.Items.Count)
                    {
                        break;
                    }

                    await Task.Delay(TimeSpan.FromSeconds(1), clock, ct);
                }

                return $"{outcomes.Count(o => o.Value == "Succeeded")} of {plan.Items.Count} account(s) moved.";
            }, cancellationToken);

            var failed = outcomes.Where(o => o.Value != "Succeeded").Select(o => $"{o.Key} ({o.Value.ToLowerInvariant()}, /admin/operations/{started.Moves[o.Key]})")
                .Concat(started.Refused.Select(r => $"{r.Key} (not started: {r.Value})")).ToList();
            foreach (var (name, id) in started.Moves)
            {
                await run.SetResultAsync(name, id.ToString(), cancellationToken);
            }

            if (failed.Count == 0)
            {
                await run.SucceedAsync($"The mail of all {plan.Items.Count} account(s) moved.", cancellationToken);
            }
            else
            {
                await run.FailAsync($"{plan.Items.Count - failed.Count} of {plan.Items.Count} account(s) moved. Not moved: {string.Join("; ", failed)}. Retry or start those moves one by one.", cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogError(ex, "Bulk move {OperationId} stopped", operationId);
            await run.FailAsync($"The bulk move stopped: {ex.Message} The moves it started go on; follow them from its log.", CancellationToken.None);
        }
    }
}
