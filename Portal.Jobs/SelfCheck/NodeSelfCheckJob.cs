using System.Diagnostics;

namespace Portal.Jobs.SelfCheck;

/// <summary>
/// Measures what later moves depend on: how soon a job starts after it is requested, the free space and write
/// speed of the mail partition, and the database round trip. Each figure is kept as a result of the operation.
/// </summary>
public sealed class NodeSelfCheckJob(IOperationJournal journal, INodeProbe probe, SelfCheckSettings settings)
{
    public const string Kind = "node-self-check";

    public static readonly IReadOnlyList<OperationStepPlan> Steps =
    [
        new("pickup", "Job pick-up latency", 1),
        new("disk", "Mail partition: space and write speed", 6),
        new("database", "Database round trips", 3),
    ];

    private const int ChunkBytes = 1024 * 1024;

    // A self-check is a measurement: retrying a failed one would measure something else. It is run again by hand.
    [AutomaticRetry(Attempts = 0)]
    [JobDisplayName("Node self-check {0}")]
    public async Task RunAsync(Guid operationId, CancellationToken cancellationToken)
    {
        await using var run = await journal.BeginAsync(operationId, cancellationToken);
        try
        {
            await run.StepAsync("pickup", ct => MeasurePickupAsync(run, ct), cancellationToken);
            await run.StepAsync("disk", ct => MeasureDiskAsync(run, ct), cancellationToken);
            await run.StepAsync("database", ct => MeasureDatabaseAsync(run, ct), cancellationToken);
            await run.SucceedAsync("All checks passed.", cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await run.FailAsync(ex.Message, CancellationToken.None);
            throw;
        }
    }

    private static async Task<string?> MeasurePickupAsync(IOperationRun run, CancellationToken ct)
    {
        var latency = run.AttemptStartedAt - run.RequestedAt;
        if (latency < TimeSpan.Zero)
        {
            latency = TimeSpan.Zero;
        }

        await run.SetResultAsync("job.pickupMs", Format(latency.TotalMilliseconds), ct);
        return $"Picked up {Format(latency.TotalMilliseconds)} ms after it was requested.";
    }

    private async Task<string?> MeasureDiskAsync(IOperationRun run, CancellationToken ct)
    {
        Directory.CreateDirectory(probe.MailRoot);
        var drive = new DriveInfo(Path.GetFullPath(probe.MailRoot));
        await run.SetResultAsync("disk.freeBytes", drive.AvailableFreeSpace.ToString(CultureInfo.InvariantCulture), ct);
        await run.SetResultAsync("disk.totalBytes", drive.TotalSize.ToString(CultureInfo.InvariantCulture), ct);

        var total = Math.Max(ChunkBytes, settings.DiskProbeBytes);
        var path = Path.Combine(probe.MailRoot, $".portal-selfcheck-{Guid.NewGuid():N}.tmp");
        var buffer = new byte[ChunkBytes];
        Random.Shared.NextBytes(buffer);
        var watch = Stopwatch.StartNew();
        try
        {
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                long written = 0;
                while (written < total)
                {
                    var count = (int)Math.Min(ChunkBytes, total - written);
                    await file.WriteAsync(buffer.AsMemory(0, count), ct);
                    written += count;
                    await run.ReportAsync(new StepProgress(written / ChunkBytes, total / ChunkBytes, written, total), ct);
                }

                // The speed that matters for mail is the speed to durable storage, not to the page cache.
                file.Flush(flushToDisk: true);
            }
        }
        finally
        {
            File.Delete(path);
        }

        var seconds = Math.Max(watch.Elapsed.TotalSeconds, 1e-6);
        var mbPerSecond = total / 1024d / 1024d / seconds;
        await run.SetResultAsync("disk.writeMBps", Format(mbPerSecond), ct);
        return $"{FormatBytes(drive.AvailableFreeSpace)} free of {FormatBytes(drive.TotalSize)}; wrote {FormatBytes(total)} at {Format(mbPerSecond)} MB/s.";
    }

    private async Task<string?> MeasureDatabaseAsync(IOperationRun run, CancellationToken ct)
    {
        var pings = Math.Max(1, settings.DatabasePings);
        var samples = new double[pings];
        for (var i = 0; i < pings; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await probe.PingDatabaseAsync(ct);
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            await run.ReportAsync(new StepProgress(i + 1, pings), ct);
        }

        Array.Sort(samples);
        var p50 = Percentile(samples, 0.50);
        var p95 = Percentile(samples, 0.95);
        await run.SetResultAsync("db.p50Ms", Format(p50), ct);
        await run.SetResultAsync("db.p95Ms", Format(p95), ct);
        return $"{pings} round trips: p50 {Format(p50)} ms, p95 {Format(p95)} ms.";
    }

    internal static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    private static string Format(double value) => Units.Number(value);

    private static string FormatBytes(long bytes) => Units.Bytes(bytes);
}
