using System.Diagnostics;
using System.Globalization;
using Portal.Tests.MailServers;

namespace Portal.Bench;

/// <summary>
/// The chaos soak: the chaos test's run (<see cref="ChaosRun"/>: every move kind round and round while real Postfix
/// takes a steady stream of mail, a Portal process of each move killed at a random moment and started again), longer.
/// Arguments: --kills=N (60 by default), --seed=S (random by default; printed, to replay a run). Needs the real mail
/// servers (`scripts/mail-servers install`, as `./portal test` does) and root.
/// </summary>
internal static class ChaosBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        var kills = BenchTools.Option(args, "--kills=") ?? 60;
        var seed = BenchTools.Option(args, "--seed=") ?? Random.Shared.Next();
        Console.WriteLine($"chaos: {kills} kills of the parent's or a child's Portal process at random moments of moves of every kind, seed {seed} (--seed={seed} replays it)");
        var servers = new MailServersFixture();
        await servers.InitializeAsync();
        try
        {
            var watch = Stopwatch.StartNew();
            var report = await ChaosRun.RunAsync(servers, seed, kills, line => Console.WriteLine("  " + line));
            var byStep = report.Kills.GroupBy(k => k[(k.IndexOf(" killed in the ", StringComparison.Ordinal) + 15)..]).OrderBy(g => g.Key, StringComparer.Ordinal);
            Console.WriteLine($"  kill points: {string.Join("; ", byStep.Select(g => $"{g.Key} x{g.Count()}"))}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {report.Moves} moves, {report.Kills.Count} kills in {watch.Elapsed.TotalMinutes:0.0} min; {report.Sent} messages sent, {report.Doubled.Count} doubled, {report.Missing.Count} missing{(report.Unexpected.Count > 0 ? "; " + string.Join("; ", report.Unexpected) : "")}"));
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
