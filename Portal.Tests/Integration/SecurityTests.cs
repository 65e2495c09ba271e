namespace Portal.Tests.Integration;

[Collection(PortalAppCollection.Name)]
public sealed class SecurityTests(PortalAppFixture app)
{
    [Fact]
    public async Task SignIn_WithoutAntiforgeryToken_IsRefused()
    {
        using var client = app.CreateClient();
        var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "signin",
            ["Input.UserName"] = PortalAppFixture.AdminUserName,
            ["Input.Password"] = app.AdminPassword,
        });

        var response = await client.PostAsync("/auth/signin", form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/admin")).StatusCode);
    }

    [Fact]
    public async Task SessionCookie_IsHttpOnlyAndSameSiteStrict()
    {
        using var client = app.CreateClient();

        var response = await client.PostSignInAsync(PortalAppFixture.AdminUserName, app.AdminPassword);

        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("portal.inproc.session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Pages_CarrySecurityHeaders()
    {
        using var client = app.CreateClient();

        var response = await client.GetAsync("/auth/signin");

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
    }

    [Fact]
    public async Task LiveConnection_FromForeignOrigin_IsRefused()
    {
        using var client = app.CreateClient();
        await client.SignInAsync(PortalAppFixture.AdminUserName, app.AdminPassword);

        using var foreign = new HttpRequestMessage(HttpMethod.Post, "/_blazor/negotiate?negotiateVersion=1");
        foreign.Headers.Add("Origin", "https://evil.example");
        var refused = await client.SendAsync(foreign);

        using var own = new HttpRequestMessage(HttpMethod.Post, "/_blazor/negotiate?negotiateVersion=1");
        own.Headers.Add("Origin", client.BaseAddress!.GetLeftPart(UriPartial.Authority));
        var accepted = await client.SendAsync(own);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task RepeatedFailedSignIns_LockTheAccount_AndAreAudited()
    {
        var (user, password) = await app.CreateUserAsync(PortalRoles.User, "lock");
        using var client = app.CreateClient();

        for (var i = 1; i <= 4; i++)
        {
            var failed = await client.PostSignInAsync(user, "wrong-password-" + i);
            Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
        }

        var fifth = await client.PostSignInAsync(user, "wrong-password-5");
        var withRightPassword = await client.PostSignInAsync(user, password);

        Assert.Equal("/auth/lockout", fifth.RedirectPath(client));
        Assert.Equal("/auth/lockout", withRightPassword.RedirectPath(client));
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/account")).StatusCode);

        await using var db = await app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var refusals = await db.AuditEntries.Where(e => e.Action == "auth.signin" && e.Target == user && e.Outcome == AuditOutcome.Refused).CountAsync();
        Assert.Equal(6, refusals);
    }

    [Fact]
    public async Task WrongPassword_ShowsAnErrorThatSaysWhatToDo()
    {
        using var client = app.CreateClient();

        var response = await client.PostSignInAsync(PortalAppFixture.AdminUserName + "-nobody", "not-the-password");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("user name or password is not right", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("https://evil.example/admin")]
    [InlineData("//evil.example/admin")]
    [InlineData("/\\evil.example")]
    public async Task SignIn_ReturnUrlToAnotherSite_GoesHomeInstead(string returnUrl)
    {
        using var client = app.CreateClient();

        var response = await client.PostSignInAsync(PortalAppFixture.AdminUserName, app.AdminPassword, returnUrl);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.RedirectPath(client));
    }

    [Fact]
    public async Task SignOut_NeedsItsToken_ThenEndsTheSession()
    {
        using var client = app.CreateClient();
        await client.SignInAsync(PortalAppFixture.AdminUserName, app.AdminPassword);

        var forged = await client.PostAsync("/auth/signout", new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin")).StatusCode);

        var token = await PortalHttp.GetAntiforgeryTokenAsync(client, "/auth/denied");
        var signedOut = await client.PostAsync("/auth/signout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));

        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/admin")).StatusCode);
    }

    [Fact]
    public async Task Health_ReportsDatabaseAndJobs_WithoutSecrets()
    {
        using var client = app.CreateClient();

        var response = await client.GetAsync("/healthz");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"database\"", body);
        Assert.Contains("\"jobs\"", body);
        Assert.Contains("\"status\": \"Healthy\"", body);
        Assert.DoesNotContain("Password", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Host=", body, StringComparison.OrdinalIgnoreCase);
    }
}
