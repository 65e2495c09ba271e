using Portal.Components.Identity;

namespace Portal.Tests.Unit;

public sealed class SmallRulesTests
{
    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(5L * 1024 * 1024 * 1024, "5 GiB")]
    public void Units_Bytes(long bytes, string expected) => Assert.Equal(expected, Units.Bytes(bytes));

    [Theory]
    [InlineData(12, "12 s")]
    [InlineData(125, "2 min 5 s")]
    [InlineData(7 * 86400 - 60, "6 d 23 h")]
    [InlineData(7300, "2 h 1 min")]
    public void Units_Duration(int seconds, string expected) => Assert.Equal(expected, Units.Duration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task ServerChecks_AskEachServerOncePerLifetime_AndAgainAfterAFailure()
    {
        var clock = new SettableClock();
        var cache = new ServerCheckCache(clock);
        var asked = 0;
        Task<(bool Up, string Detail)?> Check(CancellationToken ct)
        {
            asked++;
            return Task.FromResult<(bool Up, string Detail)?>((true, $"answer {asked}"));
        }

        var none = CancellationToken.None;
        Assert.Equal("answer 1", (await cache.GetAsync("dovecot", Check, none))!.Value.Detail);
        clock.Now += ServerCheckCache.Lifetime / 2;
        Assert.Equal("answer 1", (await cache.GetAsync("dovecot", Check, none))!.Value.Detail);
        Assert.Equal("answer 2", (await cache.GetAsync("postfix", Check, none))!.Value.Detail);
        clock.Now += ServerCheckCache.Lifetime;
        Assert.Equal("answer 3", (await cache.GetAsync("dovecot", Check, none))!.Value.Detail);

        // A check that threw is not handed out again.
        clock.Now += ServerCheckCache.Lifetime;
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync("dovecot", _ => Task.FromException<(bool Up, string Detail)?>(new InvalidOperationException()), none));
        Assert.Equal("answer 4", (await cache.GetAsync("dovecot", Check, none))!.Value.Detail);
    }

    [Fact]
    public async Task ServerChecks_PassTheCallersCancellation_AndAWaiterIsNotCancelledByAnother()
    {
        var cache = new ServerCheckCache(new SettableClock());
        var started = new List<CancellationToken>();
        async Task<(bool Up, string Detail)?> SlowCheck(CancellationToken ct)
        {
            started.Add(ct);
            await Task.Delay(Timeout.Infinite, ct);
            return (true, "never");
        }

        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        var firstCall = cache.GetAsync("dovecot", SlowCheck, first.Token);
        var secondCall = cache.GetAsync("dovecot", SlowCheck, second.Token);
        Assert.Single(started);
        Assert.Equal(first.Token, started[0]);

        // The caller that started the check goes away: the check stops with it, and the other caller asks again.
        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => firstCall);
        for (var i = 0; i < 100 && started.Count < 2; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(2, started.Count);
        Assert.Equal(second.Token, started[1]);
        Assert.False(secondCall.IsCompleted);
        await second.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => secondCall);
    }

    [Fact]
    public void Percentile_UsesNearestRank()
    {
        double[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.Equal(5, NodeSelfCheckJob.Percentile(sorted, 0.50));
        Assert.Equal(10, NodeSelfCheckJob.Percentile(sorted, 0.95));
        Assert.Equal(0, NodeSelfCheckJob.Percentile([], 0.5));
    }

    [Theory]
    [InlineData(5L, 10L, null, null, 0.5)]
    [InlineData(5L, 10L, 30L, 60L, 0.5)]
    [InlineData(9L, 10L, 10L, 100L, 0.1)]
    [InlineData(3L, null, null, null, null)]
    public void StepProgress_Fraction_PrefersBytes(long items, long? itemsTotal, long? bytes, long? bytesTotal, double? expected) =>
        Assert.Equal(expected, new StepProgress(items, itemsTotal, bytes ?? 0, bytesTotal).Fraction);

    [Theory]
    [InlineData("/admin/users", "/admin/users")]
    [InlineData("/", "/")]
    [InlineData(null, "/")]
    [InlineData("https://evil.example", "/")]
    [InlineData("//evil.example", "/")]
    [InlineData("/\\evil.example", "/")]
    [InlineData("javascript:alert(1)", "/")]
    public void SignIn_ReturnUrl_StaysOnThisNode(string? returnUrl, string expected) =>
        Assert.Equal(expected, SignIn.SafeReturnUrl(returnUrl));

    [Theory]
    [InlineData("/admin", "/admin")]
    [InlineData("/admin/users", "/admin")]
    [InlineData("/ADMIN/users", "/admin")]
    [InlineData("/administrator", null)]
    [InlineData("/account", "/account")]
    [InlineData("/reseller/x", "/reseller")]
    [InlineData("/auth/signin", null)]
    public void Areas_AreMatchedBySegment(string path, string? area) =>
        Assert.Equal(area, PortalPolicies.AreaOf(path)?.Prefix);

    [Theory]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://LOCALHOST:5080", true)]
    [InlineData("http://localhost:5081", false)]
    [InlineData("https://evil.example", false)]
    [InlineData("https://panel.example.com", true)]
    [InlineData("https://extra.example.com", true)]
    public void CircuitOrigin_IsOwnPublicOrListed(string origin, bool allowed)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Scheme = "http";
        context.Request.Host = new Microsoft.AspNetCore.Http.HostString("localhost:5080");
        var settings = new PortalSettings { PublicUrl = "https://panel.example.com" };
        settings.Security.AllowedOrigins.Add("https://extra.example.com");

        Assert.Equal(allowed, CircuitOriginMiddleware.IsAllowed(origin, context.Request, settings));
    }
}
