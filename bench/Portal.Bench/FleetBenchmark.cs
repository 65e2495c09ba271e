using System.Diagnostics;
using System.Globalization;
using System.Net;
using Npgsql;
using Portal.Tests.Support;

namespace Portal.Bench;

/// <summary>
/// A fleet: a parent with several children (each a real process), many accounts, and a large share of them moved to
/// the children at once through the API. Prints accounts moved per minute and bytes per second against the same
/// mailboxes copied with <c>tar c | tar x; sync -f</c> to the same disk in the same run, how the moves were shared
/// between the children while they ran (Portal:Distribution:MovesPerNode, Portal:Jobs:WorkerCount), and the parent's
/// peak memory. Arguments: --children=4 --accounts=10000 --moves=1000 --messages=20.
/// </summary>
internal static class FleetBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        var children = BenchTools.Option(args, "--children=") ?? 4;
        var accounts = BenchTools.Option(args, "--accounts=") ?? 10_000;
        var moves = Math.Min(accounts, BenchTools.Option(args, "--moves=") ?? 1_000);
        var messages = BenchTools.Option(args, "--messages=") ?? 20;
        Console.WriteLine($"fleet: a parent, {children} children, {accounts} accounts, {moves} of them ({messages} messages each) moved to the children at once");

        await using var parent = await PortalNode.StartAsync("fleet-parent");
        var kids = await Task.WhenAll(Enumerable.Range(0, children).Select(i =>
            PortalNode.StartAsync($"fleet-child{i}", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = $"127.0.0.{50 + i}" })));
        try
        {
            var nodeIds = new List<string>();
            foreach (var (kid, i) in kids.Select((k, i) => (k, i)))
            {
                (await kid.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
                var token = (await kid.Api.PostAsync("api/v1/node-tokens", new { name = "fleet" })).Expect(HttpStatusCode.Created).Field("secret");
                nodeIds.Add((await parent.Api.PostAsync("api/v1/linked-nodes", new { alias = $"child{i}", address = kid.HostUrl.ToString(), adminUserName = PortalNode.AdminUserName, token, verifyTls = false, purpose = "Mail" }))
                    .Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!);
            }

            // The accounts, four requests at a time; the ones that move get a mailbox full of generated mail.
            var watch = Stopwatch.StartNew();
            var generator = new MailGenerator(7);
            var created = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, accounts), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
            {
                var name = $"fl{i:D5}";
                var domain = $"{name}.fleet.example.test";
                (await parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
                if (i < moves)
                {
                    (await parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
                    lock (generator)
                    {
                        generator.Fill(Path.Combine(parent.MailRoot, domain, "alice"), messages, minKb: 2, maxKb: 40);
                    }
                }

                if (Interlocked.Increment(ref created) % 2000 == 0)
                {
                    Console.WriteLine($"  {created} accounts created ({watch.Elapsed.TotalSeconds:0} s)");
                }
            });

            var mailboxes = Enumerable.Range(0, moves).Select(i => Path.Combine(parent.MailRoot, $"fl{i:D5}.fleet.example.test")).ToList();
            var bytes = mailboxes.Sum(m => Jobs.Mail.Maildir.Measure(Path.Combine(m, "alice")).Bytes);
            Console.WriteLine($"  {accounts} accounts in {watch.Elapsed.TotalSeconds:0} s; the {moves} that move hold {Jobs.Common.Units.Bytes(bytes)}");

            // The baseline: the same mailboxes with tar to the same disk, made durable.
            var target = Path.Combine(parent.Folder, "tar-fleet");
            Directory.CreateDirectory(target);
            await BenchTools.ShellAsync("sync");
            watch.Restart();
            await BenchTools.ShellAsync($"tar -C '{parent.MailRoot}' -cf - {string.Join(' ', mailboxes.Select(Path.GetFileName))} | tar -C '{target}' -xf - && sync -f '{target}'");
            var tar = watch.Elapsed.TotalSeconds;
            Directory.Delete(target, recursive: true);
            await BenchTools.ShellAsync("sync");

            // Every move requested at once, round the children.
            watch.Restart();
            var ids = new string[moves];
            await Parallel.ForEachAsync(Enumerable.Range(0, moves), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
            {
                ids[i] = (await parent.Api.PutAsync($"api/v1/accounts/fl{i:D5}/mail-node", new { nodeId = nodeIds[i % children] })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
            });
            var requested = watch.Elapsed.TotalSeconds;

            await using var db = new NpgsqlConnection(parent.ConnectionString);
            await db.OpenAsync();
            long peak = 0;
            var maxRunning = 0;
            var shares = new List<string>();
            var lastShare = 0;
            while (true)
            {
                var states = await CountsAsync(db, """SELECT "State", count(*) FROM operations WHERE "Kind" = 'mail-copy' GROUP BY 1""");
                peak = Math.Max(peak, PeakKiB(parent.ProcessId));
                maxRunning = Math.Max(maxRunning, (int)states.GetValueOrDefault("Running"));
                var ended = states.GetValueOrDefault("Succeeded") + states.GetValueOrDefault("Failed");
                if (ended * 4 / moves > lastShare || ended == moves)
                {
                    lastShare = (int)(ended * 4 / moves);
                    var onChildren = await CountsAsync(db, """SELECT "MailNodeAlias", count(*) FROM accounts WHERE "MailNodeAlias" IS NOT NULL GROUP BY 1 ORDER BY 1""");
                    shares.Add(string.Create(CultureInfo.InvariantCulture, $"{ended} done at {watch.Elapsed.TotalSeconds:0} s: {string.Join(", ", onChildren.Select(c => $"{c.Key} {c.Value}"))}"));
                }

                if (ended == moves)
                {
                    if (states.GetValueOrDefault("Failed") > 0)
                    {
                        Console.WriteLine($"  FAILED: {states["Failed"]} move(s) failed");
                        Environment.ExitCode = 1;
                    }

                    break;
                }

                await Task.Delay(500);
            }

            var seconds = watch.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  requests: {moves} moves asked for in {requested:0.0} s"));
            foreach (var share in shares)
            {
                Console.WriteLine("  " + share);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  moved: {moves} accounts in {seconds:0.0} s = {moves / seconds * 60:0} accounts/min, {bytes / seconds / 1048576:0.0} MiB/s; at most {maxRunning} moves running at once"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  tar c | tar x; sync -f of the same {Jobs.Common.Units.Bytes(bytes)}: {tar:0.0} s = {bytes / tar / 1048576:0.0} MiB/s; the fleet took {seconds / tar:0.0}x"));
            Console.WriteLine($"  parent's peak memory (VmHWM): {peak / 1024} MiB");
        }
        finally
        {
            await Task.WhenAll(kids.Select(k => k.DisposeAsync().AsTask()));
        }
    }

    private static async Task<Dictionary<string, long>> CountsAsync(NpgsqlConnection db, string sql)
    {
        await using var command = new NpgsqlCommand(sql, db);
        await using var reader = await command.ExecuteReaderAsync();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    private static long PeakKiB(int? pid)
    {
        if (pid is null || !File.Exists($"/proc/{pid}/status"))
        {
            return 0;
        }

        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
