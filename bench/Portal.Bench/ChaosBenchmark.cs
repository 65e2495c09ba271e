using System.Diagnostics;
using System.Globalization;
using Portal.Tests.MailServers;

namespace Portal.Bench;

/// <summary>
/// The chaos soak: the chaos test's run (<see cref="ChaosRun"/>: every move kind round and round while real Postfix
/// takes a steady stream of mail, each move disrupted once at a random moment: a Portal process killed and started
/// again, the parent's database away, or a child's Dovecot and Postfix stopped for a while), longer.
/// Arguments: --disruptions=N (60 by default), --seed=S (random by default; printed, to replay a run), --kills-only
/// (what the test category runs). Needs the real mail
/// servers (`scripts/mail-servers install`, as `./portal test` does) and root.
/// </summary>
internal static class ChaosBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        var disruptions = BenchTools.Option(args, "--disruptions=") ?? 60;
        var seed = BenchTools.Option(args, "--seed=") ?? Random.Shared.Next();
        var outages = !args.Contains("--kills-only");
        Console.WriteLine($"chaos: {disruptions} disruptions (kills, database outages, stopped mail servers) at random moments of moves of every kind, seed {seed} (--seed={seed} replays it)");
        var servers = new MailServersFixture();
        await servers.InitializeAsync();
        try
        {
            var watch = Stopwatch.StartNew();
            var report = await ChaosRun.RunAsync(servers, seed, disruptions, line => Console.WriteLine("  " + line), outages);
            var byStep = report.Disruptions.GroupBy(d => d[(d.LastIndexOf(" in the ", StringComparison.Ordinal) + 8)..]).OrderBy(g => g.Key, StringComparer.Ordinal);
            var byKind = report.Disruptions.GroupBy(d => d.Contains(" killed in ", StringComparison.Ordinal) ? "kills" : d.Contains("database", StringComparison.Ordinal) ? "database outages" : "mail servers stopped");
            Console.WriteLine($"  disruptions: {string.Join(", ", byKind.Select(g => $"{g.Count()} {g.Key}"))}");
            Console.WriteLine($"  where: {string.Join("; ", byStep.Select(g => $"{g.Key} x{g.Count()}"))}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {report.Moves} moves, {report.Disruptions.Count} disruptions in {watch.Elapsed.TotalMinutes:0.0} min; {report.Sent} messages sent, {report.Doubled.Count} doubled, {report.Missing.Count} missing{(report.Unexpected.Count > 0 ? "; " + string.Join("; ", report.Unexpected) : "")}"));
            if (report.Doubled.Count + report.Missing.Count + report.Unexpected.Count > 0)
            {
                Console.WriteLine($"  FAILED: doubled {string.Join(", ", report.Doubled.Take(10))}; missing {string.Join(", ", report.Missing.Take(10))}");
                Environment.ExitCode = 1;
            }
        }
        finally
        {
            await servers.DisposeAsync();
        }
    }
}
