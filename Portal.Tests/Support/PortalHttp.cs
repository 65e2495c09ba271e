using System.Text.RegularExpressions;

namespace Portal.Tests.Support;

/// <summary>HTTP as a browser does it, for integration tests: cookies kept, redirects not followed.</summary>
public static partial class PortalHttp
{
    public static HttpClient CreateClient(Uri baseUrl) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true })
        {
            BaseAddress = baseUrl,
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>Signs in through the real sign-in form (antiforgery token included); returns the response.</summary>
    public static async Task<HttpResponseMessage> PostSignInAsync(this HttpClient client, string userName, string password, string? returnUrl = null)
    {
        var token = await GetAntiforgeryTokenAsync(client, "auth/signin");
        var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "signin",
            ["__RequestVerificationToken"] = token,
            ["Input.UserName"] = userName,
            ["Input.Password"] = password,
        });
        var path = returnUrl is null ? "auth/signin" : $"auth/signin?returnUrl={Uri.EscapeDataString(returnUrl)}";
        return await client.PostAsync(path, form);
    }

    /// <summary>
    /// Where a redirect points, as a path on this node; fails if it points at another host (an open redirect).
    /// </summary>
    public static string RedirectPath(this HttpResponseMessage response, HttpClient client)
    {
        var location = response.Headers.Location ?? throw new InvalidOperationException($"{(int)response.StatusCode} has no Location header.");
        var absolute = location.IsAbsoluteUri ? location : new Uri(client.BaseAddress!, location);
        if (absolute.Authority != client.BaseAddress!.Authority)
        {
            throw new InvalidOperationException($"The redirect leaves the node: {location}");
        }

        return absolute.PathAndQuery;
    }

    /// <summary>Signs in and fails the test if the node did not accept the credentials.</summary>
    public static async Task SignInAsync(this HttpClient client, string userName, string password)
    {
        var response = await client.PostSignInAsync(userName, password);
        if (response.StatusCode != HttpStatusCode.Redirect || response.RedirectPath(client).StartsWith("/auth/", StringComparison.Ordinal))
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new InvalidOperationException($"Sign-in as {userName} failed: {(int)response.StatusCode} {response.Headers.Location} {body[..Math.Min(500, body.Length)]}");
        }
    }

    public static async Task<string> GetAntiforgeryTokenAsync(HttpClient client, string path)
    {
        var html = await client.GetStringAsync(path);
        var match = TokenPattern().Match(html);
        return match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : throw new InvalidOperationException($"No antiforgery token on {path}.");
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
