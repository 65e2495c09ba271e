namespace Portal.Tests.Nodes;

/// <summary>What linking changes afterwards: profiles, unlinking, token revocation, health, and a child's restrictions.</summary>
[Collection(LinkedNodesCollection.Name)]
public sealed class LinkedNodeRulesTests(LinkedNodesFixture nodes) : IAsyncLifetime
{
    public Task InitializeAsync() => nodes.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task AParent_CanOnlyUseTheStandardProfile()
    {
        (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-1")).Expect(HttpStatusCode.Created);

        var response = await nodes.Parent.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("node.profile_refused", response.Code);
        Assert.Contains("a parent node can only use the Standard profile", response.Message);
        Assert.Equal("Standard", (await nodes.Parent.Api.GetAsync("api/v1/node")).Body.GetProperty("profile").GetString());
    }

    [Fact]
    public async Task AMailChild_CannotDropMailFromItsProfile()
    {
        (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-1")).Expect(HttpStatusCode.Created);

        var refused = await nodes.ChildA.Api.PutAsync("api/v1/node/profile", new { profile = "Dns" });
        var allowed = await nodes.ChildA.Api.PutAsync("api/v1/node/profile", new { profile = "Standard" });

        Assert.Equal("node.profile_refused", refused.Code);
        allowed.Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Unlink_RevokingNow_CutsTheParentOffAtOnce()
    {
        var token = await LinkedNodesFixture.NodeTokenAsync(nodes.ChildA);
        var linked = (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-1", token)).Expect(HttpStatusCode.Created);
        var id = linked.Body.GetProperty("node").GetProperty("id").GetString();

        var unlinked = (await nodes.Parent.Api.DeleteAsync($"api/v1/linked-nodes/{id}?token=RevokeNow")).Expect(HttpStatusCode.OK);

        Assert.Empty(unlinked.Body.GetProperty("warnings").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, (await nodes.ChildA.Api.GetAsync("api/v1/node")).Body.GetProperty("parent").ValueKind);
        using var asParent = new PortalApi(nodes.ChildA.BaseUrl, token, PortalNode.AdminUserName);
        var afterwards = await asParent.GetAsync("node-api/v1/info");
        Assert.Equal(HttpStatusCode.Unauthorized, afterwards.Status);
        Assert.Equal("token.revoked", afterwards.Code);
    }

    [Fact]
    public async Task Unlink_LettingTheTokenExpire_KeepsItFor24Hours()
    {
        var token = await LinkedNodesFixture.NodeTokenAsync(nodes.ChildA, "parent, graceful");
        var id = (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-1", token)).Expect(HttpStatusCode.Created)
            .Body.GetProperty("node").GetProperty("id").GetString();

        (await nodes.Parent.Api.DeleteAsync($"api/v1/linked-nodes/{id}?token=ExpireIn24Hours")).Expect(HttpStatusCode.OK);

        using var asParent = new PortalApi(nodes.ChildA.BaseUrl, token, PortalNode.AdminUserName);
        (await asParent.GetAsync("node-api/v1/info")).Expect(HttpStatusCode.OK);
        var row = (await nodes.ChildA.Api.GetAsync("api/v1/node-tokens")).Body.EnumerateArray().First(t => t.GetProperty("name").GetString() == "parent, graceful");
        var expires = row.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddHours(23.9), DateTimeOffset.UtcNow.AddHours(24.1));
    }

    [Fact]
    public async Task RevokingTheNodeToken_OnTheChild_MakesTheParentSeeItOfflineAtTheNextCheck()
    {
        var created = (await nodes.ChildA.Api.PostAsync("api/v1/node-tokens", new { name = "to revoke" })).Expect(HttpStatusCode.Created);
        var id = (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-1", created.Field("secret"))).Expect(HttpStatusCode.Created)
            .Body.GetProperty("node").GetProperty("id").GetString();

        (await nodes.ChildA.Api.DeleteAsync($"api/v1/node-tokens/{created.Body.GetProperty("token").GetProperty("id").GetString()}")).Expect(HttpStatusCode.NoContent);
        var check = (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{id}/check")).Expect(HttpStatusCode.OK);

        Assert.Equal("Offline", check.Body.GetProperty("status").GetString());
        Assert.Contains("revoked", check.Body.GetProperty("lastError").GetString());
    }

    [Fact]
    public async Task Health_GoesOfflineWhenTheChildStops_AndOnlineWhenItIsBack()
    {
        var id = (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildB, "std-1")).Expect(HttpStatusCode.Created)
            .Body.GetProperty("node").GetProperty("id").GetString();

        await nodes.ChildB.StopAsync();
        var offline = (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{id}/check")).Expect(HttpStatusCode.OK);
        await nodes.ChildB.RestartAsync();
        var online = (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{id}/check")).Expect(HttpStatusCode.OK);

        Assert.Equal("Offline", offline.Body.GetProperty("status").GetString());
        Assert.Contains("cannot be reached", offline.Body.GetProperty("lastError").GetString());
        Assert.Equal("Online", online.Body.GetProperty("status").GetString());
        Assert.True(online.Body.GetProperty("mailTotalBytes").GetInt64() > 0);
        Assert.True(online.Body.GetProperty("lastCheckAt").GetDateTimeOffset() > offline.Body.GetProperty("lastCheckAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task Unlink_OfAnOfflineChild_StillUnlinks_AndSaysWhatToDoOnTheChild()
    {
        var id = (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildB, "std-1")).Expect(HttpStatusCode.Created)
            .Body.GetProperty("node").GetProperty("id").GetString();
        await nodes.ChildB.StopAsync();

        var unlinked = (await nodes.Parent.Api.DeleteAsync($"api/v1/linked-nodes/{id}")).Expect(HttpStatusCode.OK);

        Assert.Contains("detach it from this parent", Assert.Single(unlinked.Body.GetProperty("warnings").EnumerateArray()).GetString());
        Assert.Empty((await nodes.Parent.Api.GetAsync("api/v1/linked-nodes")).Body.EnumerateArray());
    }

    [Fact]
    public async Task TlsVerification_CannotBeTurnedOffOnceTheCertificateVerified()
    {
        var id = (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-1")).Expect(HttpStatusCode.Created)
            .Body.GetProperty("node").GetProperty("id").GetString();
        var onPlainHttp = await nodes.Parent.Api.PutAsync($"api/v1/linked-nodes/{id}/tls", new { verify = true });

        // As after a handshake over https whose certificate verified.
        await using (var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString))
        {
            var row = db.LinkedNodes.Single();
            row.VerifyTls = true;
            row.TlsVerified = true;
            await db.SaveChangesAsync();
        }

        var switchOff = await nodes.Parent.Api.PutAsync($"api/v1/linked-nodes/{id}/tls", new { verify = false });

        Assert.Equal("link.tls_refused", onPlainHttp.Code);
        Assert.Contains("plain http", onPlainHttp.Message);
        Assert.Equal("link.tls_refused", switchOff.Code);
        Assert.Contains("verification stays on", switchOff.Message);
    }

    [Fact]
    public async Task NodeApi_IsNotOpenedByASessionCookie()
    {
        using var browser = PortalHttp.CreateClient(nodes.ChildA.BaseUrl);
        await browser.SignInAsync(PortalNode.AdminUserName, nodes.ChildA.AdminPassword);

        var response = await browser.GetAsync("node-api/v1/info");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("token.missing", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task NodeApi_RefusesAUserApiTokenEvenOfAnAdmin()
    {
        var apiToken = (await nodes.ChildA.Api.PostAsync("api/v1/api-tokens", new { name = "not for nodes" })).Expect(HttpStatusCode.Created).Field("secret");
        using var api = new PortalApi(nodes.ChildA.BaseUrl, apiToken, PortalNode.AdminUserName);

        var response = await api.GetAsync("node-api/v1/info");

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("token.not_admin", response.Code);
    }

    [Fact]
    public async Task OnAChild_AnAccountOwnerCannotSignIn_AndIsToldWhereToGo()
    {
        var password = "user-Kq7vZp3x-" + Guid.NewGuid().ToString("N")[..6];
        var name = "owner" + Guid.NewGuid().ToString("N")[..6];
        (await nodes.ChildA.Api.PostAsync("api/v1/users", new { userName = name, role = PortalRoles.User, password })).Expect(HttpStatusCode.Created);
        (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-1")).Expect(HttpStatusCode.Created);

        using var browser = PortalHttp.CreateClient(nodes.ChildA.BaseUrl);
        var signInPage = await browser.GetStringAsync("auth/signin");
        var response = await browser.PostSignInAsync(name, password);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Contains("This is a child node of <b>parent</b>", signInPage);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Sign in at the parent node, parent", body);
        Assert.Contains(nodes.Parent.HostUrl.ToString().TrimEnd('/'), body);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("account")).StatusCode);

        // The child's admin still signs in.
        using var admin = PortalHttp.CreateClient(nodes.ChildA.BaseUrl);
        await admin.SignInAsync(PortalNode.AdminUserName, nodes.ChildA.AdminPassword);
    }

    [Fact]
    public async Task OnAChild_UserLevelApiCalls_AreRefusedNamingTheParent()
    {
        var name = "apiuser" + Guid.NewGuid().ToString("N")[..6];
        var created = (await nodes.ChildA.Api.PostAsync("api/v1/users", new { userName = name, role = PortalRoles.User })).Expect(HttpStatusCode.Created);
        var token = await SeedUserTokenAsync(nodes.ChildA, created.Field("id"), name);
        using var asUser = new PortalApi(nodes.ChildA.BaseUrl, token);
        (await asUser.GetAsync("api/v1/me")).Expect(HttpStatusCode.OK);

        (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-1")).Expect(HttpStatusCode.Created);
        var refused = await asUser.GetAsync("api/v1/me");
        var adminStillWorks = await nodes.ChildA.Api.GetAsync("api/v1/me");

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal("node.is_child", refused.Code);
        Assert.Contains(nodes.Parent.HostUrl.ToString().TrimEnd('/'), refused.Message);
        adminStillWorks.Expect(HttpStatusCode.OK);
    }

    /// <summary>
    /// Seeds a user's own API token straight into the node's database (the account area's token page comes with the
    /// public API's user features); minted by the same code the node uses.
    /// </summary>
    private static async Task<string> SeedUserTokenAsync(PortalNode node, string userId, string userName)
    {
        var (row, token) = ApiTokenService.Mint(ApiTokenKind.User, "seeded", userId, userName, DateTimeOffset.UtcNow, null);
        await using var db = TestDatabases.OpenContext(node.ConnectionString);
        db.ApiTokens.Add(row);
        await db.SaveChangesAsync();
        return token;
    }
}
