using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Portal.Jobs.Hosting;

/// <summary>
/// A node is the only job server of its own queues (its own database): at start, any job still marked as fetched was
/// taken by this node's previous process, which stopped (a crash, kill -9, a power cut) without finishing it. Those
/// jobs are handed back to the queue before the job server starts, so an interrupted move resumes within seconds
/// instead of waiting out Hangfire's invisibility timeout (5 minutes) while its page shows it running. Registered
/// before the job server, so nothing of this process has fetched anything yet.
/// </summary>
public sealed class InterruptedJobs(string connectionString, JobsSettings settings, ILogger<InterruptedJobs> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // The schema name is validated by JobsSettings (a plain lowercase identifier).
        command.CommandText = $"UPDATE \"{settings.Schema}\".jobqueue SET fetchedat = NULL WHERE fetchedat IS NOT NULL";
        try
        {
            var released = await command.ExecuteNonQueryAsync(cancellationToken);
            if (released > 0)
            {
                logger.LogWarning("Took back {Count} job(s) that this node's previous process had started and not finished; they resume now", released);
            }
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            // The first start: Hangfire has not made its tables yet, so nothing was interrupted.
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
