using Portal.Bench;

// Benchmarks print figures, each against a baseline measured in the same run (see docs/benchmarks.md).
// Run them with `./portal bench [name]`; names: jobs-pickup, accounts-grid, mail-copy, proxy-latency, delivery, chaos, fleet.
var name = args.FirstOrDefault() ?? "all";
if (name == "enqueue-child")
{
    await JobPickupBenchmark.EnqueueFromChildAsync();
    return 0;
}

// What follows the name goes to the benchmark (mail-copy: tmpfs|disk, --pairs=N).
var rest = args.Skip(1).ToArray();
var benchmarks = new Dictionary<string, Func<Task>>
{
    ["jobs-pickup"] = JobPickupBenchmark.RunAsync,
    ["accounts-grid"] = AccountsGridBenchmark.RunAsync,
    ["mail-copy"] = () => MailCopyBenchmark.RunAsync(rest),
    ["proxy-latency"] = ProxyLatencyBenchmark.RunAsync,
    ["delivery"] = () => DeliveryBenchmark.RunAsync(rest),
    ["chaos"] = () => ChaosBenchmark.RunAsync(rest),
    ["fleet"] = () => FleetBenchmark.RunAsync(rest),
};

if (name == "all")
{
    // The ones with real mail servers (delivery, the chaos soak) and the fleet run only by their names.
    foreach (var run in benchmarks.Where(b => b.Key is not ("delivery" or "chaos" or "fleet")).Select(b => b.Value))
    {
        await run();
    }

    return 0;
}

if (!benchmarks.TryGetValue(name, out var benchmark))
{
    Console.Error.WriteLine($"Unknown benchmark \"{name}\". Known: {string.Join(", ", benchmarks.Keys)}, all.");
    return 2;
}

await benchmark();
return 0;
