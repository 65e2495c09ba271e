namespace Portal.Jobs.Mail;

/// <summary>
/// How a move rides out another node being away for a while: the work runs again, waiting longer each time (up to
/// 30 s, each wait jittered by a quarter either way, so the moves a node restart interrupted do not all come back in
/// the same second), until it succeeds or the retry window has passed; each wait is logged on the operation.
/// </summary>
public sealed class MoveRetry(IOperationRun run, TimeProvider clock, TimeSpan window)
{
    public static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(30);

    /// <summary>A wait of about <paramref name="wait"/>: between three quarters and five quarters of it.</summary>
    public static TimeSpan Jittered(TimeSpan wait) => wait * (0.75 + 0.5 * Random.Shared.NextDouble());

    public Task RunAsync(Func<Task> work, CancellationToken ct) =>
        RunAsync(async () => { await work(); return true; }, ct);

    public async Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        var started = clock.GetUtcNow();
        var wait = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                return await work();
            }
            catch (Exception ex) when (IsTransient(ex) && clock.GetUtcNow() - started < window)
            {
                var delay = Jittered(wait);
                await run.LogAsync(OperationLogLevel.Warning, string.Create(CultureInfo.InvariantCulture, $"The child did not answer ({Brief(ex)}); trying again in {delay.TotalSeconds:0.0} s."), ct);
                await run.WaitWhilePausedAsync(ct);
                await Task.Delay(delay, clock, ct);
                wait = wait * 2 < LongestWait ? wait * 2 : LongestWait;
            }
        }
    }

    /// <summary>
    /// Whether waiting may help: the other node away or failing for now. A full disk there (507) is not: the move stops
    /// and says so, and what it copied is removed, which frees the space again.
    /// </summary>
    public static bool IsTransient(Exception ex) =>
        ex is NodeUnreachableException or HttpRequestException or IOException { InnerException: not null }
        || (ex is NodeRequestException { Status: >= 500 and not DiskFull.Status });

    private static string Brief(Exception ex) => ex.Message.Length > 200 ? ex.Message[..200] + "..." : ex.Message;
}

/// <summary>What a move's failure handler needs to decide whether it may undo anything.</summary>
public static class MoveFailures
{
    /// <summary>Whether the switch took effect; when that cannot be told (the database is away), it is taken as done, so nothing is undone.</summary>
    public static async Task<bool> SwitchedAsync(Func<Task<bool>> check)
    {
        try
        {
            return await check();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return true;
        }
    }
}
