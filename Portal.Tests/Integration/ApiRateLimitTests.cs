using System.Net;
using System.Net.Http.Headers;
using Portal.Tests.Accounts;
using Portal.Tests.Support;

namespace Portal.Tests.Integration;

/// <summary>The public API limits requests per token and per address, answering 429 with Retry-After and the error shape.</summary>
public sealed class ApiRateLimitTests : IAsyncLifetime
{
    private PortalNode _node = default!;

    public async Task InitializeAsync() =>
        _node = await PortalNode.StartAsync("limits", new Dictionary<string, string>
        {
            ["Portal:Security:ApiRequestsPerMinutePerToken"] = "5",
            ["Portal:Security:ApiRequestsPerMinutePerAddress"] = "8",
        });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task ATokenBeyondItsLimit_Gets429_AndTheAddressLimitCatchesEveryTokenAndNone()
    {
        // Admin request 1 (token 1/5, address 1/8).
        var created = (await _node.Api.PostAsync("api/v1/users", new { userName = "limited" + Guid.NewGuid().ToString("N")[..6], role = "User" })).Expect(HttpStatusCode.Created);
        var otherToken = await AccountsFixture.SeedTokenAsync(_node, created.Field("id"), created.Body.GetProperty("userName").GetString()!);
        for (var i = 2; i <= 5; i++)
        {
            (await _node.Api.GetAsync("api/v1/me")).Expect(HttpStatusCode.OK);
        }

        using var http = new HttpClient { BaseAddress = _node.BaseUrl };
        var byToken = await GetMeAsync(http, File.ReadAllText(_node.AdminApiTokenFile).Trim()); // token 6/5: refused (address 6/8)

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
        // Guessing tokens is limited too: a request with a wrong token is refused before the token is looked at.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await GetMeAsync(http, "pat_guess")).StatusCode);
        // Pages and the node API are not the public API's business.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);
    }

    private static Task<HttpResponseMessage> GetMeAsync(HttpClient http, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request);
    }
}
