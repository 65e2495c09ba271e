namespace Portal.Jobs.SelfCheck;

/// <summary>How much work the self-check does; larger probes give steadier figures.</summary>
public sealed class SelfCheckSettings
{
    /// <summary>Bytes written (and flushed to disk) on the mail partition to measure its write speed.</summary>
    public long DiskProbeBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Database round trips measured for the latency percentiles.</summary>
    public int DatabasePings { get; set; } = 200;
}
