using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Portal.Jobs.Common;
using Portal.Tests.Support;

namespace Portal.Bench;

/// <summary>
/// Moves a mailbox of 20,000 messages (4-50 KiB, about 530 MiB) from a parent to a child, two node processes over
/// loopback HTTP, against <c>tar c | tar x; sync -f</c> of the same tree to the same filesystem (the baseline), in
/// pairs that alternate which goes first, so a disk that speeds up or slows down during the run favours neither.
/// Run twice: with the mail on tmpfs (no disk: the software's own cost) and on this machine's disk (with
/// durability). Prints each pair's ratios, then their median and spread. Targets: the bulk copy at most 2.0x the
/// baseline (stretch 1.5x), the whole move (request to done) at most 3x, the final pass over the unchanged
/// mailbox under 0.5 s.
/// </summary>
internal static class MailCopyBenchmark
{
    private const int Messages = 20_000;
    private const int WarmUpMoves = 40;
    private const string Domain = "bench.example.test";

    public static async Task RunAsync(string[] args)
    {
        var pairs = BenchTools.Option(args, "--pairs=") is int given and > 0 ? given : 5;
        var media = args.FirstOrDefault(a => a is "tmpfs" or "disk") is { } only ? [only] : new[] { "tmpfs", "disk" };
        foreach (var medium in media)
        {
            var root = medium == "tmpfs"
                ? Path.Combine("/dev/shm", $"portal-bench-{Guid.NewGuid():N}"[..25])
                : Path.Combine(TestEnvironment.RunFolder, "mail-copy");
            try
            {
                await RunOnAsync(medium, root, pairs);
            }
            finally
            {
                if (Directory.Exists(root))
                {
                    Directory.Delete(root, recursive: true);
                }
            }
        }
    }

    private static async Task RunOnAsync(string medium, string root, int pairs)
    {
        Console.WriteLine($"mail-copy on {medium} ({root}): {Messages} messages (4-50 KiB) parent -> child over the node API, {pairs} pairs against tar c | tar x; sync -f");
        var (parentMail, childMail) = (Path.Combine(root, "parent-mail"), Path.Combine(root, "child-mail"));
        await using var parent = await PortalNode.StartAsync("bench-parent", new Dictionary<string, string> { ["Portal:MailRoot"] = parentMail });
        await using var child = await PortalNode.StartAsync("bench-child", new Dictionary<string, string> { ["Portal:MailRoot"] = childMail, ["Portal:Dns:PublicIPv4"] = "127.0.0.2" });
        (await child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
        var token = (await child.Api.PostAsync("api/v1/node-tokens", new { name = "bench" })).Expect(HttpStatusCode.Created).Field("secret");
        var nodeId = (await parent.Api.PostAsync("api/v1/linked-nodes", new { alias = "child", address = child.HostUrl.ToString(), adminUserName = PortalNode.AdminUserName, token, verifyTls = false, purpose = "Mail" }))
            .Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString();

        // One mailbox made once; each move copies a hard-linked view of it (same files, same page cache as tar reads).
        var template = Path.Combine(root, "template");
        new MailGenerator(20).Fill(template, Messages, minKb: 4, maxKb: 50);
        var (count, bytes) = Jobs.Mail.Maildir.Measure(template);
        Console.WriteLine($"  mailbox: {count} messages, {Units.Bytes(bytes)}");

        // A node runs for days: its first moves after start also compile the code they run (.NET's JIT recompiles a
        // method optimised after 30 calls, so once-per-move code warms over tens of moves). The first move is timed
        // and printed; then small moves warm both nodes up, and the pairs measure warm nodes.
        var cold = await MoveAsync(parent, child, childMail, parentMail, nodeId!, template, "benchcold", count, bytes);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  first move after the nodes started (not counted): bulk {cold.Bulk:0.00} s, whole move {cold.Whole:0.00} s; CPU: parent {cold.ParentCpu:0.00} s, child {cold.ChildCpu:0.00} s"));
        var small = Path.Combine(root, "small");
        new MailGenerator(21).Fill(small, 200, minKb: 4, maxKb: 50);
        var (smallCount, smallBytes) = Jobs.Mail.Maildir.Measure(small);
        var warm = Stopwatch.StartNew();
        for (var i = 0; i < WarmUpMoves; i++)
        {
            await MoveAsync(parent, child, childMail, parentMail, nodeId!, small, $"benchwarm{i}", smallCount, smallBytes, settle: false);
        }

        Console.WriteLine($"  warm-up: {WarmUpMoves} moves of 200 messages in {warm.Elapsed.TotalSeconds:0.0} s");
        var rows = new List<Pair>();
        for (var i = 0; i < pairs; i++)
        {
            var tarFirst = i % 2 == 0;
            double tar = 0;
            if (tarFirst)
            {
                tar = await TarSecondsAsync(template, Path.Combine(root, "tar-copy"));
            }

            var move = await MoveAsync(parent, child, childMail, parentMail, nodeId!, template, $"bench{i}", count, bytes);
            if (!tarFirst)
            {
                tar = await TarSecondsAsync(template, Path.Combine(root, "tar-copy"));
            }

            var pair = new Pair(tar, move.Bulk, move.Delta, move.Verify, move.Whole);
            rows.Add(pair);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  pair {i + 1} ({(tarFirst ? "tar first" : "move first")}): tar+sync {tar,6:0.00} s, bulk {move.Bulk,6:0.00} s ({pair.BulkRatio:0.00}x), final pass {move.Delta:0.000} s, verify {move.Verify:0.00} s, whole move {move.Whole,6:0.00} s ({pair.WholeRatio:0.00}x); CPU during the move: parent {move.ParentCpu:0.00} s, child {move.ChildCpu:0.00} s"));
        }

        var tarMedian = Stats.Median(rows.Select(r => r.Tar));
        Console.WriteLine($"  tar c | tar x; sync -f        median {tarMedian,6:0.00} s   spread {Stats.Spread(rows.Select(r => r.Tar))}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  first move after start / tar's median: bulk {cold.Bulk / tarMedian:0.00}x, whole move {cold.Whole / tarMedian:0.00}x (not in the medians below)"));
        Console.WriteLine($"  bulk copy / baseline          median {Stats.Median(rows.Select(r => r.BulkRatio)),6:0.00}x  spread {Stats.Spread(rows.Select(r => r.BulkRatio))}   (target <= 2.0x, stretch 1.5x)");
        Console.WriteLine($"  whole move / baseline         median {Stats.Median(rows.Select(r => r.WholeRatio)),6:0.00}x  spread {Stats.Spread(rows.Select(r => r.WholeRatio))}   (target <= 3.0x)");
        Console.WriteLine($"  final pass, unchanged mailbox median {Stats.Median(rows.Select(r => r.Delta)),6:0.000} s  (target < 0.5 s)");
        Console.WriteLine($"  verify (SHA-256 both sides)   median {Stats.Median(rows.Select(r => r.Verify)),6:0.00} s");
    }

    private sealed record Pair(double Tar, double Bulk, double Delta, double Verify, double Whole)
    {
        public double BulkRatio => Bulk / Tar;

        public double WholeRatio => Whole / Tar;
    }

    private sealed record MoveTimes(double Bulk, double Delta, double Verify, double Whole, double ParentCpu, double ChildCpu);

    private static async Task<MoveTimes> MoveAsync(PortalNode parent, PortalNode child, string childMail, string parentMail, string nodeId, string template, string account, long count, long bytes, bool settle = true)
    {
        var domain = $"{account}.{Domain}";
        (await parent.Api.PostAsync("api/v1/accounts", new { username = account, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
        (await parent.Api.PostAsync($"api/v1/accounts/{account}/mail/addresses", new { localPart = "alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
        var mailbox = Path.Combine(parentMail, domain, "alice");
        if (Directory.Exists(mailbox))
        {
            Directory.Delete(mailbox, recursive: true);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(mailbox)!);
        await BenchTools.ShellAsync($"cp -al '{template}' '{mailbox}'");
        if (settle)
        {
            await SettleAsync();
        }

        var cpuBefore = (Cpu(parent), Cpu(child));
        var watch = Stopwatch.StartNew();
        var id = (await parent.Api.PutAsync($"api/v1/accounts/{account}/mail-node", new { nodeId })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString();
        JsonElement operation;
        do
        {
            await Task.Delay(50);
            operation = (await parent.Api.GetAsync($"api/v1/operations/{id}")).Body;
        }
        while (operation.GetProperty("state").GetString() is not ("Succeeded" or "Failed"));
        watch.Stop();
        var cpu = (Parent: Cpu(parent) - cpuBefore.Item1, Child: Cpu(child) - cpuBefore.Item2);
        if (operation.GetProperty("state").GetString() != "Succeeded")
        {
            throw new InvalidOperationException($"The move failed: {operation.GetProperty("error")}");
        }

        var onChild = Path.Combine(childMail, domain, "alice");
        if (Jobs.Mail.Maildir.Measure(onChild) != (count, bytes))
        {
            throw new InvalidOperationException($"The child holds {Jobs.Mail.Maildir.Measure(onChild)} instead of {(count, bytes)}.");
        }

        // The parent empties its trash after the move; the next measurement waits for that, and frees the child's copy.
        var trash = Path.Combine(parentMail, Jobs.Mail.MailTrash.Folder);
        for (var waited = 0; Directory.Exists(trash) && Directory.EnumerateFileSystemEntries(trash).Any() && waited < 120_000; waited += 100)
        {
            await Task.Delay(100);
        }

        Directory.Delete(onChild, recursive: true);
        await BenchTools.ShellAsync("sync");
        var step = operation.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("key").GetString()!, Seconds);
        return new MoveTimes(step["bulk"], step["delta"], step["verify"], watch.Elapsed.TotalSeconds, cpu.Parent, cpu.Child);
    }

    /// <summary>The CPU time (user and system) a node's process has used so far, in seconds, from /proc.</summary>
    private static double Cpu(PortalNode node)
    {
        var stat = File.ReadAllText($"/proc/{node.ProcessId}/stat");
        // Fields after the command name (which is in parentheses and may hold spaces): utime and stime are the 12th and 13th.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static double Seconds(JsonElement step) =>
        (step.GetProperty("finishedAt").GetDateTimeOffset() - step.GetProperty("startedAt").GetDateTimeOffset()).TotalSeconds;

    /// <summary>tar c | tar x of the tree, then sync -f of the target's filesystem: what the move's durability is judged against.</summary>
    private static async Task<double> TarSecondsAsync(string source, string target)
    {
        Directory.CreateDirectory(target);
        await SettleAsync();
        var watch = Stopwatch.StartNew();
        await BenchTools.ShellAsync($"tar -C '{source}' -cf - . | tar -C '{target}' -xf - && sync -f '{target}'");
        var seconds = watch.Elapsed.TotalSeconds;
        Directory.Delete(target, recursive: true);
        await BenchTools.ShellAsync("sync");
        return seconds;
    }

    /// <summary>
    /// Syncs, then waits until the disks have written and discarded nothing for a second (at most a minute): a
    /// filesystem mounted with online discard trims what the last measurement deleted for seconds afterwards, and
    /// whichever side ran next used to pay for it (tar+sync took 1.4 s in one pair and 15 s in the next).
    /// </summary>
    private static async Task SettleAsync()
    {
        await BenchTools.ShellAsync("sync");
        var quietSince = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        var last = DiskActivity();
        while (quietSince.Elapsed < TimeSpan.FromSeconds(1) && total.Elapsed < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(100);
            var now = DiskActivity();
            if (now != last)
            {
                quietSince.Restart();
                last = now;
            }
        }
    }

    /// <summary>Sectors written and discarded so far on every disk (/proc/diskstats, fields 10 and 17).</summary>
    private static long DiskActivity() => File.ReadAllLines("/proc/diskstats")
        .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Where(f => f.Length >= 14 && !f[2].StartsWith("loop", StringComparison.Ordinal) && !f[2].StartsWith("ram", StringComparison.Ordinal))
        .Sum(f => long.Parse(f[9], CultureInfo.InvariantCulture) + (f.Length >= 17 ? long.Parse(f[16], CultureInfo.InvariantCulture) : 0));
}
