using Portal.Bench;

// Benchmarks print figures, each against a baseline measured in the same run (see docs/benchmarks.md).
// Run them with `./portal bench [name]`; names: jobs-pickup, accounts-grid, mail-copy, proxy-latency.
var name = args.FirstOrDefault() ?? "all";
if (name == "enqueue-child")
{
    await JobPickupBenchmark.EnqueueFromChildAsync();
    return 0;
}

var benchmarks = new Dictionary<string, Func<Task>>
{
    ["jobs-pickup"] = JobPickupBenchmark.RunAsync,
    ["accounts-grid"] = AccountsGridBenchmark.RunAsync,
    ["mail-copy"] = MailCopyBenchmark.RunAsync,
    ["proxy-latency"] = ProxyLatencyBenchmark.RunAsync,
};

if (name == "all")
{
    foreach (var run in benchmarks.Values)
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
