using System.Net.Http.Headers;

namespace Portal.Tests.Integration;

/// <summary>The public API limits requests per token and per address, answering 429 with Retry-After and the error shape.</summary>
public sealed class ApiRateLimitTests
{
    [Fact]
    public async Task ATokenBeyondItsLimit_Gets429_AndTheAddressLimitCatchesEveryTokenAndNone()
    {
        await using var node = await PortalNode.StartAsync("limits", new Dictionary<string, string>
        {
            ["Portal:Security:ApiRequestsPerMinutePerToken"] = "5",
            ["Portal:Security:ApiRequestsPerMinutePerAddress"] = "8",
        });
        // Admin request 1 (token 1/5, address 1/8).
        var created = (await node.Api.PostAsync("api/v1/users", new { userName = "limited" + Guid.NewGuid().ToString("N")[..6], role = "User" })).Expect(HttpStatusCode.Created);
        var otherToken = await AccountsFixture.SeedTokenAsync(node, created.Field("id"), created.Body.GetProperty("userName").GetString()!);
        for (var i = 2; i <= 5; i++)
        {
            (await node.Api.GetAsync("api/v1/me")).Expect(HttpStatusCode.OK);
        }

        using var http = new HttpClient { BaseAddress = node.BaseUrl };
        var byToken = await GetMeAsync(http, File.ReadAllText(node.AdminApiTokenFile).Trim()); // token 6/5: refused (address 6/8)

        Assert.Equal(HttpStatusCode.TooManyRequests, byToken.StatusCode);
        Assert.InRange(byToken.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        var body = await byToken.Content.ReadAsStringAsync();
        Assert.Contains("\"code\":\"rate_limited\"", body, StringComparison.Ordinal);
        Assert.Contains("this API token", body, StringComparison.Ordinal);

        // Another token from the same address has its own count, but the address's is nearly spent.
        Assert.Equal(HttpStatusCode.OK, (await GetMeAsync(http, otherToken)).StatusCode); // address 7/8
        Assert.Equal(HttpStatusCode.OK, (await GetMeAsync(http, otherToken)).StatusCode); // address 8/8
        var byAddress = await GetMeAsync(http, otherToken);
        Assert.Equal(HttpStatusCode.TooManyRequests, byAddress.StatusCode);
        Assert.Contains("this address", await byAddress.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // A client cannot escape by claiming another address: with no trusted proxy configured, the header is ignored.
        var claimingAnother = new HttpRequestMessage(HttpMethod.Get, "api/v1/me");
        claimingAnother.Headers.Authorization = new AuthenticationHeaderValue("Bearer", otherToken);
        claimingAnother.Headers.Add("X-Forwarded-For", "198.51.100.9");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await http.SendAsync(claimingAnother)).StatusCode);
        // Guessing tokens is limited too: a request with a wrong token is refused before the token is looked at.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await GetMeAsync(http, "pat_guess")).StatusCode);
        // Pages and the node API are not the public API's business.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);
    }

    [Fact]
    public async Task BehindATrustedProxy_EachForwardedClientHasItsOwnAddressLimit()
    {
        await using var behindProxy = await PortalNode.StartAsync("proxied", new Dictionary<string, string>
        {
            ["Portal:Security:ApiRequestsPerMinutePerAddress"] = "3",
            ["Portal:Security:TrustedProxies:0"] = "127.0.0.1",
        });
        using var http = new HttpClient { BaseAddress = behindProxy.BaseUrl };
        var token = File.ReadAllText(behindProxy.AdminApiTokenFile).Trim();

        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await GetMeAsync(http, token, forwardedFor: "203.0.113.1")).StatusCode);
        }

        var fourth = await GetMeAsync(http, token, forwardedFor: "203.0.113.1");
        var anotherClient = await GetMeAsync(http, token, forwardedFor: "203.0.113.2");

        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode);
        Assert.Equal(HttpStatusCode.OK, anotherClient.StatusCode);
    }

    private static Task<HttpResponseMessage> GetMeAsync(HttpClient http, string token, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/me");
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request);
    }
}
