namespace Portal.Tests.Integration;

/// <summary>Each role reaches its own area only, and the server says so with status codes, whatever the UI shows.</summary>
[Collection(PortalAppCollection.Name)]
public sealed class AccessTests(PortalAppFixture app)
{
    private static readonly string[] AreaPaths = ["/admin", "/admin/operations", "/admin/users", "/admin/audit", "/reseller", "/account"];

    [Theory]
    [InlineData("/admin")]
    [InlineData("/admin/users")]
    [InlineData("/reseller")]
    [InlineData("/account")]
    [InlineData("/hangfire")]
    public async Task Anonymous_AreaPage_RedirectsToSignIn(string path)
    {
        using var client = app.CreateClient();

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/auth/signin", response.RedirectPath(client));
    }

    [Theory]
    [InlineData(PortalRoles.Admin, "/admin")]
    [InlineData(PortalRoles.Reseller, "/reseller")]
    [InlineData(PortalRoles.User, "/account")]
    public async Task SignedIn_EachRole_ReachesOnlyItsOwnArea(string role, string ownArea)
    {
        using var client = await SignedInClientAsync(role);
        var wrong = new List<string>();

        foreach (var path in AreaPaths)
        {
            var expected = path.StartsWith(ownArea, StringComparison.Ordinal) ? HttpStatusCode.OK : HttpStatusCode.Forbidden;
            var response = await client.GetAsync(path);
            if (response.StatusCode != expected)
            {
                wrong.Add($"{path}: expected {(int)expected}, got {(int)response.StatusCode}");
            }
        }

        Assert.Empty(wrong);
    }

    [Theory]
    [InlineData(PortalRoles.Admin, "/admin")]
    [InlineData(PortalRoles.Reseller, "/reseller")]
    [InlineData(PortalRoles.User, "/account")]
    public async Task Root_SendsEachRoleToItsArea(string role, string ownArea)
    {
        using var client = await SignedInClientAsync(role);

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(ownArea, response.RedirectPath(client));
    }

    [Theory]
    [InlineData(PortalRoles.Admin, HttpStatusCode.OK)]
    [InlineData(PortalRoles.Reseller, HttpStatusCode.Forbidden)]
    [InlineData(PortalRoles.User, HttpStatusCode.Forbidden)]
    public async Task HangfireDashboard_IsForAdminsOnly(string role, HttpStatusCode expected)
    {
        using var client = await SignedInClientAsync(role);

        var response = await client.GetAsync("/hangfire");

        Assert.Equal(expected, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        if (expected == HttpStatusCode.OK)
        {
            Assert.Contains("Portal jobs", html);
            Assert.DoesNotContain("Password", html, StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            // The panel's own page saying why, not the browser's bare "HTTP ERROR 403".
            Assert.Contains("Not allowed", html);
        }
    }

    [Fact]
    public async Task ForbiddenPage_ExplainsAndKeepsTheStatus()
    {
        using var client = await SignedInClientAsync(PortalRoles.User);

        var response = await client.GetAsync("/admin/users");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Not allowed", await response.Content.ReadAsStringAsync());
    }

    private async Task<HttpClient> SignedInClientAsync(string role)
    {
        var (user, password) = role == PortalRoles.Admin
            ? (PortalAppFixture.AdminUserName, app.AdminPassword)
            : await app.CreateUserAsync(role);
        var client = app.CreateClient();
        await client.SignInAsync(user, password);
        return client;
    }
}
