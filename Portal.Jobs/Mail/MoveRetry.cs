using Portal.Jobs.Nodes;
using Portal.Jobs.Operations;

namespace Portal.Jobs.Mail;

/// <summary>
/// How a move rides out another node being away for a while: the work runs again, waiting longer each time (up to
/// 30 s), until it succeeds or the retry window has passed; each wait is logged on the operation.
/// </summary>
public sealed class MoveRetry(IOperationRun run, TimeProvider clock, TimeSpan window)
{
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
                await run.LogAsync(OperationLogLevel.Warning, $"The child did not answer ({Brief(ex)}); trying again in {wait.TotalSeconds:0} s.", ct);
                await run.WaitWhilePausedAsync(ct);
                await Task.Delay(wait, clock, ct);
                wait = TimeSpan.FromSeconds(Math.Min(30, wait.TotalSeconds * 2));
            }
        }
    }

    public static bool IsTransient(Exception ex) =>
        ex is NodeUnreachableException or HttpRequestException or IOException { InnerException: not null }
        || (ex is NodeRequestException { Status: >= 500 });

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
