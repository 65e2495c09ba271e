namespace Portal.Tests.Nodes;

/// <summary>Linking a child to a parent over real HTTP between node processes, and every refusal of the handshake.</summary>
[Collection(LinkedNodesCollection.Name)]
public sealed class LinkingTests(LinkedNodesFixture nodes) : IAsyncLifetime
{
    public Task InitializeAsync() => nodes.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Link_Succeeds_TheChildRecordsItsParent_AndTheListShowsItOnline()
    {
        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-1");

        response.Expect(HttpStatusCode.Created);
        var node = response.Body.GetProperty("node");
        Assert.Equal("mail-1", node.GetProperty("alias").GetString());
        Assert.Equal("Online", node.GetProperty("status").GetString());
        Assert.Equal("Mail", node.GetProperty("profile").GetString());
        Assert.Empty(response.Body.GetProperty("warnings").EnumerateArray());

        var child = (await nodes.ChildA.Api.GetAsync("api/v1/node")).Expect(HttpStatusCode.OK).Body;
        var parentInfo = (await nodes.Parent.Api.GetAsync("api/v1/node")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(parentInfo.GetProperty("nodeId").GetString(), child.GetProperty("parent").GetProperty("nodeId").GetString());
        Assert.Equal(nodes.Parent.HostUrl.ToString().TrimEnd('/'), child.GetProperty("parent").GetProperty("url").GetString()!.TrimEnd('/'));
        Assert.Equal(1, parentInfo.GetProperty("childCount").GetInt32());

        var list = (await nodes.Parent.Api.GetAsync("api/v1/linked-nodes")).Expect(HttpStatusCode.OK).Body.EnumerateArray().ToList();
        var row = Assert.Single(list);
        Assert.Equal(child.GetProperty("nodeId").GetString(), row.GetProperty("id").GetString());
        Assert.Equal(child.GetProperty("version").GetString(), row.GetProperty("version").GetString());
        Assert.True(row.GetProperty("mailTotalBytes").GetInt64() >= row.GetProperty("mailFreeBytes").GetInt64());
        Assert.True(row.GetProperty("mailFreeBytes").GetInt64() > 0);
    }

    [Fact]
    public async Task Link_StoresTheTokenEncrypted_NeverInPlainText()
    {
        var token = await LinkedNodesFixture.NodeTokenAsync(nodes.ChildA);
        (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mail-enc", token)).Expect(HttpStatusCode.Created);

        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        var stored = db.LinkedNodes.Single().ProtectedToken;

        Assert.DoesNotContain(token, stored);
        Assert.DoesNotContain(token.Split('_')[^1], stored);
    }

    [Fact]
    public async Task Link_ToAnUnreachableAddress_IsRefused()
    {
        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "gone", address: "http://localhost:1/");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("node.unreachable", response.Code);
        Assert.Contains("cannot be reached", response.Message);
    }

    [Fact]
    public async Task Link_WithAnInvalidToken_IsRefused()
    {
        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "bad-token", token: "ptk_" + Guid.NewGuid().ToString("N") + "_not-the-secret-at-all-xx");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("token.invalid", response.Code);
        Assert.Contains("Create a new token on that node", response.Message);
    }

    [Fact]
    public async Task Link_WithAnExpiredToken_IsRefused()
    {
        var token = await LinkedNodesFixture.NodeTokenAsync(nodes.ChildA, expiresAt: DateTimeOffset.UtcNow.AddSeconds(2));
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "expired", token);

        Assert.Equal("token.expired", response.Code);
    }

    [Fact]
    public async Task Link_WithARevokedToken_IsRefused()
    {
        var created = (await nodes.ChildA.Api.PostAsync("api/v1/node-tokens", new { name = "soon revoked" })).Expect(HttpStatusCode.Created);
        (await nodes.ChildA.Api.DeleteAsync($"api/v1/node-tokens/{created.Body.GetProperty("token").GetProperty("id").GetString()}")).Expect(HttpStatusCode.NoContent);

        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "revoked", created.Field("secret"));

        Assert.Equal("token.revoked", response.Code);
    }

    [Fact]
    public async Task Link_WithAUserApiToken_IsRefusedAsNotAdminLevel()
    {
        var apiToken = (await nodes.ChildA.Api.PostAsync("api/v1/api-tokens", new { name = "mine" })).Expect(HttpStatusCode.Created).Field("secret");

        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "user-token", apiToken);

        Assert.Equal("token.not_admin", response.Code);
    }

    [Fact]
    public async Task Link_WithAnotherUsersName_IsRefused()
    {
        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "wrong-user", adminUserName: "someone-else");

        Assert.Equal("token.user_mismatch", response.Code);
    }

    [Fact]
    public async Task Link_ToAnOlderMajorVersion_IsRefusedWithWhatToDo()
    {
        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildOld, "old");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("link.version_too_old", response.Code);
        Assert.Contains("0.9.0", response.Message);
        Assert.Contains("update it to 1.x", response.Message);
        Assert.Empty((await nodes.Parent.Api.GetAsync("api/v1/linked-nodes")).Body.EnumerateArray());
    }

    [Fact]
    public async Task Link_ToANewerMajorVersion_SucceedsWithAWarning()
    {
        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildNew, "new");

        response.Expect(HttpStatusCode.Created);
        var warning = Assert.Single(response.Body.GetProperty("warnings").EnumerateArray()).GetString();
        Assert.Contains("different major version", warning);
        Assert.NotEqual(JsonValueKind.Null, response.Body.GetProperty("node").GetProperty("versionWarning").ValueKind);
    }

    [Fact]
    public async Task Link_ToItself_IsRefused()
    {
        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.Parent, "me");

        Assert.Equal(HttpStatusCode.Conflict, response.Status);
        Assert.Equal("node.self", response.Code);
    }

    [Fact]
    public async Task Link_TheSameNodeTwice_IsRefused()
    {
        (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "first")).Expect(HttpStatusCode.Created);

        var second = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "second");

        Assert.Equal("node.already_linked", second.Code);
        Assert.Contains("\"first\"", second.Message);
    }

    [Fact]
    public async Task Link_AChildOfAnotherParent_IsRefused()
    {
        // Child B links child A first: it is now child A's parent.
        (await LinkedNodesFixture.LinkAsync(nodes.ChildB, nodes.ChildA, "taken")).Expect(HttpStatusCode.Created);

        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "mine");

        Assert.Equal(HttpStatusCode.Conflict, response.Status);
        Assert.Equal("node.other_parent", response.Code);
        Assert.Contains("child-b", response.Message);
    }

    [Fact]
    public async Task Link_ThatWouldMakeALoop_IsRefused()
    {
        (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "a")).Expect(HttpStatusCode.Created);

        // The child may not link its own parent back, and nobody may link the parent (it has children) as a child.
        var back = await LinkedNodesFixture.LinkAsync(nodes.ChildA, nodes.Parent, "back");
        var chain = await LinkedNodesFixture.LinkAsync(nodes.ChildB, nodes.Parent, "chain");

        Assert.Equal("node.loop", back.Code);
        Assert.Equal("node.loop", chain.Code);
    }

    [Fact]
    public async Task Link_AChildWhoseProfileLacksMail_IsRefused()
    {
        (await nodes.ChildB.Api.PutAsync("api/v1/node/profile", new { profile = "Dns" })).Expect(HttpStatusCode.OK);

        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildB, "dns");

        Assert.Equal("node.profile_lacks_roles", response.Code);
        Assert.Contains("Mail receive", response.Message);
    }

    [Theory]
    [InlineData("127.0.0.1", "bare IP address")]
    [InlineData("[::1]", "bare IP address")]
    [InlineData("ftp://child.example.com", "not a host name or an http(s) URL")]
    [InlineData("https://child.example.com/?token=x", "may not carry a query")]
    public async Task Link_ABadAddress_IsRefused(string address, string message)
    {
        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "bad-address", token: "unused", address: address);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("link.invalid", response.Code);
        Assert.Contains(message, response.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("a-very-long-alias-that-goes-on-and-on-beyond-fifty-chars")]
    public async Task Link_ABadAlias_IsRefused(string alias)
    {
        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, alias, token: "unused");

        Assert.Equal("link.invalid", response.Code);
        Assert.Contains("alias may hold", response.Message);
    }

    [Fact]
    public async Task Link_AnAliasTwice_IsRefused()
    {
        (await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildA, "same")).Expect(HttpStatusCode.Created);

        var response = await LinkedNodesFixture.LinkAsync(nodes.Parent, nodes.ChildB, "same");

        Assert.Equal("link.alias_taken", response.Code);
    }
}
