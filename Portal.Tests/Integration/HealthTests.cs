namespace Portal.Tests.Integration;

/// <summary>
/// Liveness, readiness and the full report: a load balancer or systemd asks /healthz/live (the process serves) and
/// /healthz/ready (database, jobs, mail and DNS servers all answer), an admin reads /healthz.
/// </summary>
public sealed class HealthTests : IDisposable
{
    private readonly TempFolder _temp = new("portal-health-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task AMailServerThatStopsAnswering_MakesTheNodeNotReady_WhileItStaysLive_AndTheReportSaysWhich()
    {
        var down = Path.Combine(_temp.Path, "dovecot-down");
        var doveadm = Shell.WriteScript(Path.Combine(_temp.Path, "doveadm"), $"[ -e {down} ] && exit 75; exit 0");
        await using var node = await PortalNode.StartAsync("health", new Dictionary<string, string> { ["Portal:Mail:Doveadm"] = doveadm });
        using var http = new HttpClient { BaseAddress = node.BaseUrl };

        var live = await http.GetAsync("healthz/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Empty(Body(await live.Content.ReadAsStringAsync()).GetProperty("checks").EnumerateObject());
        var ready = await http.GetAsync("healthz/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var readyChecks = Body(await ready.Content.ReadAsStringAsync()).GetProperty("checks");
        Assert.Equal(["database", "dovecot", "jobs"], readyChecks.EnumerateObject().Select(c => c.Name).Order());

        File.WriteAllText(down, "");
        // Each server is asked at most every 5 s.
        HttpResponseMessage notReady;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        do
        {
            await Task.Delay(250);
            notReady = await http.GetAsync("healthz/ready");
        }
        while (notReady.StatusCode == HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Equal("Degraded", Body(await notReady.Content.ReadAsStringAsync()).GetProperty("checks").GetProperty("dovecot").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz/live")).StatusCode);
        var report = await http.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.Equal("Degraded", Body(await report.Content.ReadAsStringAsync()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task ANodeWhoseDatabaseIsGone_IsLiveButNotReady()
    {
        await using var node = await PortalNode.StartAsync("nodb");
        using var http = new HttpClient { BaseAddress = node.BaseUrl };
        await TestDatabases.DropAsync(node.ConnectionString);

        var ready = await http.GetAsync("healthz/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("Unhealthy", Body(await ready.Content.ReadAsStringAsync()).GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz/live")).StatusCode);
    }

    private static JsonElement Body(string json) => JsonDocument.Parse(json).RootElement;
}
