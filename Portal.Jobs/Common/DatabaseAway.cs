using Npgsql;

namespace Portal.Jobs.Common;

/// <summary>
/// A long job (a move) outlives its node's database going away for a while (PostgreSQL restarted, a failover, the
/// network to it cut): the job waits until the database answers again and runs once more from its checkpoints, as it
/// does after a restart of this node, instead of failing. Failing would not even work: the failure could not be
/// recorded, and the operation would show Running for ever with nothing behind it. The wait is bounded by the move's
/// retry window; each wait is in the node's log (the operation's own log lives in the database).
/// </summary>
public static class DatabaseAway
{
    public static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Whether <paramref name="exception"/> (or one it wraps: EF Core and Hangfire wrap the driver's) says the database
    /// cannot be reached now, as opposed to refusing what was asked of it.
    /// </summary>
    public static bool Is(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                // The server's own word: shutting down, starting up, too many connections, or this database closed to
                // connections for now (ALLOW_CONNECTIONS false, as during maintenance).
                case PostgresException postgres:
                    return postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || postgres.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
                            or PostgresErrorCodes.TooManyConnections
                        || (postgres.SqlState == PostgresErrorCodes.ObjectNotInPrerequisiteState && postgres.MessageText.Contains("accepting connections", StringComparison.Ordinal));
                // No answer at all: the connection was refused, reset or ended mid-way.
                case NpgsqlException:
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Runs <paramref name="attempt"/>; while it fails because the database is away, waits (1 s, doubling up to 15 s)
    /// and runs it again, passing what to log on the operation once it can (null on the first attempt).
    /// </summary>
    public static async Task RideOutAsync(Func<string?, Task> attempt, TimeProvider clock, TimeSpan window, ILogger logger, string what, CancellationToken ct)
    {
        var started = clock.GetUtcNow();
        var wait = TimeSpan.FromSeconds(1);
        string? resumed = null;
        while (true)
        {
            try
            {
                await attempt(resumed);
                return;
            }
            catch (OperationEndedException) when (resumed is not null)
            {
                // The earlier attempt had ended the operation (it failed, and said so) before the database error that
                // sent it round again, say on a pooled connection the outage had cut: its end stands.
                logger.LogInformation("{What} had already ended when it was run again after the database came back; nothing more to do", what);
                return;
            }
            catch (Exception ex) when (Is(ex) && clock.GetUtcNow() - started < window && !ct.IsCancellationRequested)
            {
                logger.LogWarning("The database is away ({Reason}); {What} waits {Wait:0.0} s, then resumes from its last checkpoint", Brief(ex), what, wait.TotalSeconds);
                await Task.Delay(wait, clock, ct);
                wait = wait * 2 < LongestWait ? wait * 2 : LongestWait;
                resumed = string.Create(CultureInfo.InvariantCulture,
                    $"This node's database was away ({Brief(ex)}); resumed from the last finished step {(clock.GetUtcNow() - started).TotalSeconds:0} s after this attempt began.");
            }
        }
    }

    private static string Brief(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null && inner is not NpgsqlException)
        {
            inner = inner.InnerException;
        }

        return inner.Message.Length > 160 ? inner.Message[..160] + "..." : inner.Message;
    }
}
