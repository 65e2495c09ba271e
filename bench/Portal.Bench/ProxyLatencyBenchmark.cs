using System.Diagnostics;
using System.Net;
using Portal.Tests.Support;

namespace Portal.Bench;

/// <summary>
/// The latency the parent adds when it calls a child on an account owner's behalf: the owner's API call on the parent
/// (authenticated, resolved, proxied over the node API) against the same call made straight to the child's node API,
/// interleaved on loopback so both see the same machine. Target: under 10 ms added at p95.
/// </summary>
internal static class ProxyLatencyBenchmark
{
    private const int Warmup = 50;
    private const int Samples = 1_000;

    public static async Task RunAsync()
    {
        Console.WriteLine($"proxy-latency: {Samples} interleaved calls, listing an account's email accounts through the parent against straight to the child");
        await using var parent = await PortalNode.StartAsync("bench-proxy-parent");
        await using var child = await PortalNode.StartAsync("bench-proxy-child", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.2" });
        (await child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
        var token = (await child.Api.PostAsync("api/v1/node-tokens", new { name = "bench" })).Expect(HttpStatusCode.Created).Field("secret");
        var nodeId = (await parent.Api.PostAsync("api/v1/linked-nodes", new { alias = "child", address = child.HostUrl.ToString(), adminUserName = PortalNode.AdminUserName, token, verifyTls = false, purpose = "Mail" }))
            .Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString();
        (await parent.Api.PostAsync("api/v1/accounts", new { username = "proxied", domain = "proxied.example.test", contactEmail = "o@proxied.example.test", mailRouting = new { kind = "Node", nodeId } }))
            .Expect(HttpStatusCode.Created);
        foreach (var local in new[] { "alice", "bob", "carol" })
        {
            (await parent.Api.PostAsync("api/v1/accounts/proxied/mail/addresses", new { localPart = local, password = $"{local}-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
        }

        using var throughParent = new PortalApi(parent.BaseUrl, File.ReadAllText(parent.AdminApiTokenFile).Trim());
        using var direct = new PortalApi(child.HostUrl, token, PortalNode.AdminUserName);
        var viaParent = new List<double>();
        var straight = new List<double>();
        var me = new List<double>();
        var account = new List<double>();
        for (var i = 0; i < Warmup + Samples; i++)
        {
            var a = await TimeAsync(() => throughParent.GetAsync("api/v1/accounts/proxied/mail/addresses"));
            var b = await TimeAsync(() => direct.GetAsync("node-api/v1/accounts/proxied/mail/addresses"));
            var c = await TimeAsync(() => throughParent.GetAsync("api/v1/me"));
            var d = await TimeAsync(() => throughParent.GetAsync("api/v1/accounts/proxied"));
            if (i >= Warmup)
            {
                viaParent.Add(a);
                straight.Add(b);
                me.Add(c);
                account.Add(d);
            }
        }

        me.Sort();
        account.Sort();
        Console.WriteLine($"  parent: GET /api/v1/me      p50 {P(me, 50),6:0.00} ms   p95 {P(me, 95),6:0.00} ms");
        Console.WriteLine($"  parent: GET account         p50 {P(account, 50),6:0.00} ms   p95 {P(account, 95),6:0.00} ms");

        viaParent.Sort();
        straight.Sort();
        Console.WriteLine($"  straight to the child       p50 {P(straight, 50),6:0.00} ms   p95 {P(straight, 95),6:0.00} ms  <- baseline");
        Console.WriteLine($"  through the parent          p50 {P(viaParent, 50),6:0.00} ms   p95 {P(viaParent, 95),6:0.00} ms");
        Console.WriteLine($"  added by the parent         p50 {P(viaParent, 50) - P(straight, 50),6:0.00} ms   p95 {P(viaParent, 95) - P(straight, 95),6:0.00} ms   (target < 10 ms at p95)");
    }

    private static async Task<double> TimeAsync(Func<Task<ApiResponse>> call)
    {
        var watch = Stopwatch.StartNew();
        (await call()).Expect(HttpStatusCode.OK);
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    private static double P(List<double> sorted, int percentile) => sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
