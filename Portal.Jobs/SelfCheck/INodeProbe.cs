namespace Portal.Jobs.SelfCheck;

/// <summary>What the self-check measures on the node; <c>Portal</c> implements it over its own database.</summary>
public interface INodeProbe
{
    /// <summary>The folder that holds this node's mail (the partition the self-check measures).</summary>
    string MailRoot { get; }

    /// <summary>One database round trip (a trivial query on a pooled connection).</summary>
    Task PingDatabaseAsync(CancellationToken cancellationToken);
}

/// <summary>How much work the self-check does; larger probes give steadier figures.</summary>
public sealed class SelfCheckSettings
{
    /// <summary>Bytes written (and flushed to disk) on the mail partition to measure its write speed.</summary>
    public long DiskProbeBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Database round trips measured for the latency percentiles.</summary>
    public int DatabasePings { get; set; } = 200;
}
