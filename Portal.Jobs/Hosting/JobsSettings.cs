using System.ComponentModel.DataAnnotations;

namespace Portal.Jobs.Hosting;

/// <summary>The node's Hangfire server and storage (section <c>Portal:Jobs</c>).</summary>
public sealed class JobsSettings
{
    /// <summary>PostgreSQL schema that holds Hangfire's tables, apart from Portal's own.</summary>
    [Required, RegularExpression("^[a-z_][a-z0-9_]{0,62}$", ErrorMessage = "Portal:Jobs:Schema must be a lowercase PostgreSQL identifier, for example \"hangfire\".")]
    public string Schema { get; set; } = "hangfire";

    /// <summary>Concurrent jobs on this node.</summary>
    [Range(1, 64, ErrorMessage = "Portal:Jobs:WorkerCount must be between 1 and 64.")]
    public int WorkerCount { get; set; } = 4;

    /// <summary>
    /// How long a job fetched by a server that then died stays invisible before another server takes it over.
    /// The running server keeps renewing it (sliding), so a long job is never run twice at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00", ErrorMessage = "Portal:Jobs:InvisibilityTimeout must be between 00:00:05 and 1.00:00:00.")]
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Fallback queue poll; new jobs are normally noticed at once through PostgreSQL LISTEN/NOTIFY.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "Portal:Jobs:QueuePollInterval must be between 00:00:00.050 and 00:01:00.")]
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time running jobs get to stop when the node shuts down.</summary>
    /// <summary>How often delayed jobs (a scheduled deletion) are checked for being due.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Portal:Jobs:SchedulePollInterval must be between 00:00:01 and 00:10:00.")]
    public TimeSpan SchedulePollInterval { get; set; } = TimeSpan.FromSeconds(15);

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Portal:Jobs:ShutdownTimeout must be between 00:00:01 and 00:10:00.")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

public static class JobQueues
{
    public const string Default = "default";

    /// <summary>Long moves of mail between nodes; kept apart so they never starve quick jobs.</summary>
    public const string Moves = "moves";

    public static readonly string[] All = [Default, Moves];
}
