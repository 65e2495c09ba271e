using System.Collections.Concurrent;
using System.Diagnostics;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Npgsql;
using Portal.Jobs.Hosting;

namespace Portal.Bench;

/// <summary>
/// How soon a job starts after it is enqueued, with Portal's Hangfire settings (LISTEN/NOTIFY long polling, a
/// fallback poll every Portal:Jobs:QueuePollInterval). Two paths: enqueued in the process that runs the job server
/// (a node's UI and API do that), and enqueued by another process on the same database (a second web process, or
/// a maintenance command), which only the database can tell the server about. Baselines measured in the same run:
/// the second path without LISTEN/NOTIFY (polling only), and one database round trip, the floor of any
/// database-backed queue. Target: p95 under one second.
/// </summary>
internal static class JobPickupBenchmark
{
    private const int Jobs = 40;
    private static readonly ConcurrentDictionary<Guid, double> LatencyMs = new();

    public static async Task RunAsync()
    {
        Console.WriteLine($"jobs-pickup: jobs enqueued one at a time, 50-400 ms apart, on an idle node (enqueue -> job starts)");
        var poll = new JobsSettings().QueuePollInterval;

        var floor = await MeasureRoundTripsAsync();
        var sameProcess = await MeasureAsync(longPolling: true, otherProcess: false, Jobs, poll);
        var otherProcess = await MeasureAsync(longPolling: true, otherProcess: true, Jobs, poll);
        var pollingOnly = await MeasureAsync(longPolling: false, otherProcess: true, Jobs / 2, poll);

        Console.WriteLine($"  database round trip (floor)                    {Stats.Summary(floor)}");
        Console.WriteLine($"  Portal, enqueued in the server's process       {Stats.Summary(sameProcess)}");
        Console.WriteLine($"  Portal, enqueued by another process            {Stats.Summary(otherProcess)}");
        Console.WriteLine($"  polling only ({poll.TotalSeconds:0} s), by another process      {Stats.Summary(pollingOnly)}");
        Console.WriteLine($"  ratio p95 long polling / polling only          {Stats.Percentile(otherProcess, 0.95) / Stats.Percentile(pollingOnly, 0.95):0.000}");
        Console.WriteLine($"  ratio p50 in-process pick-up / round trip      {Stats.Percentile(sameProcess, 0.5) / Stats.Percentile(floor, 0.5):0.0}");
        var worst = Math.Max(Stats.Percentile(sameProcess, 0.95), Stats.Percentile(otherProcess, 0.95));
        Console.WriteLine($"  target p95 < 1000 ms: {(worst < 1000 ? "met" : "NOT met")} (worst p95 {worst:0.0} ms)");
    }

    /// <summary>The child process of the "another process" path: enqueues jobs and exits.</summary>
    public static async Task EnqueueFromChildAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable("BENCH_CONNECTION")!;
        var jobs = int.Parse(Environment.GetEnvironmentVariable("BENCH_JOBS")!);
        var longPolling = Environment.GetEnvironmentVariable("BENCH_LONG_POLLING") == "1";
        var client = new BackgroundJobClient(Storage(connectionString, longPolling, new JobsSettings().QueuePollInterval));
        await EnqueueAsync(client, jobs);
    }

    private static async Task<List<double>> MeasureRoundTripsAsync()
    {
        await using var db = await BenchDatabase.CreateAsync();
        await using var dataSource = NpgsqlDataSource.Create(db.ConnectionString);
        var samples = new List<double>();
        for (var i = 0; i < Jobs * 5; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync();
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return samples;
    }

    private static async Task<List<double>> MeasureAsync(bool longPolling, bool otherProcess, int jobs, TimeSpan poll)
    {
        LatencyMs.Clear();
        await using var db = await BenchDatabase.CreateAsync();
        var storage = Storage(db.ConnectionString, longPolling, poll);
        using (new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = 4, Queues = JobQueues.All }, storage))
        {
            await Task.Delay(2000); // the server registers and its workers start waiting
            if (otherProcess)
            {
                var start = new ProcessStartInfo("dotnet", [typeof(JobPickupBenchmark).Assembly.Location, "enqueue-child"]);
                // The connection string holds a password: environment, never the command line.
                start.Environment["BENCH_CONNECTION"] = db.ConnectionString;
                start.Environment["BENCH_JOBS"] = jobs.ToString();
                start.Environment["BENCH_LONG_POLLING"] = longPolling ? "1" : "0";
                using var child = Process.Start(start)!;
                await child.WaitForExitAsync();
            }
            else
            {
                await EnqueueAsync(new BackgroundJobClient(storage), jobs);
            }

            var deadline = DateTime.UtcNow + poll * 3 + TimeSpan.FromSeconds(10);
            while (LatencyMs.Count < jobs && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
        }

        return LatencyMs.Values.ToList();
    }

    private static async Task EnqueueAsync(IBackgroundJobClient client, int jobs)
    {
        for (var i = 0; i < jobs; i++)
        {
            var id = Guid.NewGuid();
            client.Enqueue(() => Record(id, DateTime.UtcNow.Ticks));
            await Task.Delay(Random.Shared.Next(50, 400));
        }
    }

    private static PostgreSqlStorage Storage(string connectionString, bool longPolling, TimeSpan poll)
    {
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = "hangfire",
            PrepareSchemaIfNecessary = true,
            QueuePollInterval = poll,
            EnableLongPolling = longPolling,
            UseSlidingInvisibilityTimeout = true,
        };
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, options, null), options);
    }

    // The enqueue time travels as the job's argument (a number, no secret), so processes need share no clock but the wall.
    public static void Record(Guid id, long enqueuedUtcTicks) =>
        LatencyMs[id] = TimeSpan.FromTicks(DateTime.UtcNow.Ticks - enqueuedUtcTicks).TotalMilliseconds;
}
