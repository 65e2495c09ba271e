using System.Globalization;
using System.Net;
using System.Text.Json;
using Portal.Tests.Support;
using static Portal.Tests.MailServers.MailClients;

namespace Portal.Tests.MailServers;

/// <summary>One chaos run (ChaosTests and the soak benchmark share it): what was sent, doubled, missing.</summary>
public sealed record ChaosReport(int Sent, int Moves, IReadOnlyList<string> Disruptions, IReadOnlyList<string> Doubled, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);

/// <summary>
/// Moves an account parent -> child -> second child -> parent, round and round, while four senders deliver to it
/// through the parent's Postfix. Each move is disrupted once, 0-3 s in, as the seed chooses: mostly (6 in 10, or all) one of
/// the Portal processes it involves is killed (SIGKILL) and started again 0-1.5 s later; otherwise the parent's
/// database goes away for 2-6 s (every connection cut, new ones refused, as in a PostgreSQL restart), or a child of
/// the move has its Dovecot and Postfix stopped for 2-6 s (mail for it waits in a queue). A move that fails is
/// retried, as an admin would. At the end the account is brought home and every message sent is read back through
/// the parent by its subject.
/// </summary>
public static class ChaosRun
{
    /// <param name="outages">
    /// Also the database outages and stopped mail servers (4 disruptions in 10); without, every disruption is a kill.
    /// </param>
    public static async Task<ChaosReport> RunAsync(MailServersFixture servers, int seed, int disruptions, Action<string> say, bool outages = true)
    {
        var random = new Random(seed);
        var (name, domain, address, password) = await servers.AccountAsync("carl");
        // Some mail already there, so that copying takes a moment and a disruption can land inside it.
        new MailGenerator(seed).Fill(Path.Combine(servers.Parent.MailRoot, domain, "carl"), 1500, minKb: 2, maxKb: 20);
        var before = (await ImapSubjectsAsync(MailServersFixture.ParentAddress, address, password)).Count;

        using var stop = new CancellationTokenSource();
        var (senders, sent) = SteadyStream(MailServersFixture.ParentAddress, address, "c", stop.Token);
        var done = new List<string>();
        var moves = 0;
        var route = new (string? NodeId, PortalNode? Node)[] { (servers.ChildId, servers.Child), (servers.SecondChildId, servers.SecondChild), (null, null) };
        PortalNode? current = null;
        while (done.Count < disruptions)
        {
            var (nodeId, node) = route[moves++ % route.Length];
            var id = (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
            var kind = nodeId is null ? "dedistribution" : current is null ? "distribution" : "child to child";
            var children = new[] { current, node }.OfType<PortalNode>().ToArray();
            var involved = new[] { servers.Parent }.Concat(children).ToArray();
            var roll = outages ? random.Next(10) : 9;
            await Task.Delay(random.Next(0, 3000));
            var step = await CurrentStepAsync(servers.Parent, id);
            string point;
            if (roll < 2)
            {
                var away = TimeSpan.FromMilliseconds(random.Next(2000, 6000));
                await TestDatabases.OutageAsync(servers.Parent.ConnectionString, away);
                point = string.Create(CultureInfo.InvariantCulture, $"the parent's database away for {away.TotalSeconds:0.0} s in the {kind}'s \"{step}\"");
            }
            else if (roll < 4)
            {
                var child = children[random.Next(children.Length)];
                var mailServers = servers.MailServersOf(child);
                var away = TimeSpan.FromMilliseconds(random.Next(2000, 6000));
                await servers.StopMailServersAsync(mailServers);
                await Task.Delay(away);
                await servers.StartMailServersAsync(mailServers);
                point = string.Create(CultureInfo.InvariantCulture, $"{child.Name}'s Dovecot and Postfix stopped for {away.TotalSeconds:0.0} s in the {kind}'s \"{step}\"");
            }
            else
            {
                var victim = involved[random.Next(involved.Length)];
                await victim.KillAsync();
                await Task.Delay(random.Next(0, 1500));
                await victim.RestartAsync();
                point = $"{victim.Name} killed in the {kind}'s \"{step}\"";
            }

            done.Add(point);
            say($"disruption {done.Count}: {point}");
            await FinishAsync(servers.Parent, id, point, say);
            current = node;
        }

        await Task.Delay(1000);
        await stop.CancelAsync();
        await Task.WhenAll(senders);
        if (current is not null)
        {
            // The account ends at home, so the count below reads through the parent as an owner would.
            var home = (await servers.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = (string?)null })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
            await FinishAsync(servers.Parent, home, "the way home", say);
            moves++;
        }

        // Every message sent, by its subject (a count alone ends early when some came twice while others are still in
        // a queue). Queues that grew during the moves take a while to drain on a busy machine: the count goes on while
        // messages still arrive (what is lost never does), and ends after 90 s in which none came.
        var found = await UntilArrivedAsync(() => ImapSubjectsAsync(MailServersFixture.ParentAddress, address, password),
            s => s.Count >= sent.Count + before && new HashSet<string>(s, StringComparer.Ordinal).IsSupersetOf(sent), TimeSpan.FromSeconds(90), say);
        var streamed = found.Where(s => s.StartsWith("c-", StringComparison.Ordinal)).ToList();
        var doubled = streamed.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => $"{g.Key} x{g.Count()}").ToList();
        var missing = sent.Except(streamed).ToList();
        var unexpected = found.Count - streamed.Count == before ? [] : new List<string> { $"{found.Count - streamed.Count} other messages instead of the {before} that were there before" };
        say($"{sent.Count} messages sent during {moves} moves; {streamed.Count} read back; {doubled.Count} doubled, {missing.Count} missing.");
        return new ChaosReport(sent.Count, moves, done, doubled, missing, unexpected);
    }

    /// <summary>Reads the mailbox until <paramref name="complete"/>, or until <paramref name="quiet"/> passed without a new message.</summary>
    private static async Task<List<string>> UntilArrivedAsync(Func<Task<List<string>>> read, Func<List<string>, bool> complete, TimeSpan quiet, Action<string> say)
    {
        var started = DateTime.UtcNow;
        var last = await read();
        var (count, since) = (last.Count, DateTime.UtcNow);
        while (!complete(last) && DateTime.UtcNow - since < quiet)
        {
            await Task.Delay(1000);
            last = await read();
            if (last.Count > count)
            {
                (count, since) = (last.Count, DateTime.UtcNow);
            }
        }

        say($"read back after {(DateTime.UtcNow - started).TotalSeconds:0} s of waiting for queues to drain");
        return last;
    }

    private static async Task<string> CurrentStepAsync(PortalNode parent, string id)
    {
        var operation = (await parent.Api.GetAsync($"api/v1/operations/{id}")).Body;
        return operation.GetProperty("state").GetString() is "Succeeded" ? "(already done)"
            : operation.TryGetProperty("currentStep", out var step) && step.ValueKind == JsonValueKind.String ? step.GetString()! : "(not started)";
    }

    /// <summary>Waits for the operation to succeed; one that failed is retried, as an admin would.</summary>
    private static async Task FinishAsync(PortalNode parent, string id, string point, Action<string> say)
    {
        for (var attempt = 0; ; attempt++)
        {
            var end = await parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed" or "Cancelled", TimeSpan.FromMinutes(3));
            var state = end.GetProperty("state").GetString();
            if (state == "Succeeded")
            {
                return;
            }

            var log = (await parent.Api.GetAsync($"api/v1/operations/{id}/log")).Text;
            Assert.True(state == "Failed" && attempt < 2, $"After {point} the operation ended {state}:\n{end}\n{log}");
            (await parent.Api.PostAsync($"api/v1/operations/{id}/retry")).Expect(HttpStatusCode.Accepted);
            say($"after {point} the operation failed ({end.GetProperty("error").GetString()}); retried, as an admin would");
        }
    }
}
