namespace Portal.Tests.Distribution;

/// <summary>
/// A node token is bound to what it was made for. On a linked child, only the token the parent linked with acts as
/// the parent; another admin node token (one given to a partner for a transfer, say) can neither read or change
/// account twins, nor unlink the child, nor declare itself its parent, nor export an account. A token made for a
/// transfer exports that one account, until it expires, and opens nothing else.
/// </summary>
[Collection(MoveCollection.Name)]
public sealed class NodeTokenBindingTests(MoveFixture nodes)
{
    [Fact]
    public async Task AnotherAdminNodeToken_OnALinkedChild_CannotActAsItsParent()
    {
        using var stranger = new PortalApi(nodes.Mail.HostUrl, await LinkedNodesFixture.NodeTokenAsync(nodes.Mail, "someone else"), PortalNode.AdminUserName);
        var (name, _, _) = await nodes.AccountWithMailAsync(3);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        var parentInfo = (await nodes.Parent.Api.GetAsync("api/v1/node")).Body;

        var twin = await stranger.GetAsync($"node-api/v1/accounts/{name}");
        var addresses = await stranger.GetAsync($"node-api/v1/accounts/{name}/mail/addresses");
        var deleteData = await stranger.DeleteAsync($"node-api/v1/accounts/{name}/mail/data");
        var unlink = await stranger.PostAsync("node-api/v1/parent/unlink", new { parentNodeId = parentInfo.GetProperty("nodeId").GetString(), token = "RevokeNow" });
        var relink = await stranger.PostAsync("node-api/v1/parent", new
        {
            parentNodeId = parentInfo.GetProperty("nodeId").GetString(), parentName = "parent", parentUrl = nodes.Parent.HostUrl.ToString(), parentVersion = "1.0.0", purpose = "Mail",
        });
        var export = await stranger.GetAsync($"node-api/v1/transfers/{name}");

        foreach (var refused in new[] { twin, addresses, deleteData, unlink })
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
            Assert.Equal("node.not_parent", refused.Code);
            Assert.Contains("only the token parent linked with may do this", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Conflict, relink.Status);
        Assert.Equal("node.parent_token", relink.Code);
        Assert.Equal(HttpStatusCode.Forbidden, export.Status);
        Assert.Equal("token.not_for_transfer", export.Code);
        // The parent, with its own token, still does all of it.
        using var asParent = new PortalApi(nodes.Mail.HostUrl, nodes.ParentTokens[nodes.Mail], PortalNode.AdminUserName);
        Assert.Equal(2, (await asParent.GetAsync($"node-api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.GetArrayLength());
        Assert.Equal("Online", (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{nodes.NodeIds[nodes.Mail]}/check", new { })).Expect(HttpStatusCode.OK).Body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ATransferToken_ExportsItsOneAccount_UntilItExpires_AndNothingElse()
    {
        var (mine, _, _) = await nodes.AccountWithMailAsync(3);
        var (other, _, _) = await nodes.AccountWithMailAsync(3);
        var expiring = DateTimeOffset.UtcNow.AddSeconds(3);
        using var transfer = new PortalApi(nodes.Parent.HostUrl, await LinkedNodesFixture.TransferTokenAsync(nodes.Parent, mine, expiring), PortalNode.AdminUserName);

        Assert.Equal(mine, (await transfer.GetAsync($"node-api/v1/transfers/{mine}")).Expect(HttpStatusCode.OK).Body.GetProperty("account").GetProperty("username").GetString());
        var otherAccount = await transfer.GetAsync($"node-api/v1/transfers/{other}");
        var info = await transfer.GetAsync("node-api/v1/info");
        Assert.Equal(HttpStatusCode.Forbidden, otherAccount.Status);
        Assert.Equal("token.wrong_scope", otherAccount.Code);
        Assert.Equal(HttpStatusCode.Forbidden, info.Status);

        await Task.Delay(expiring - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(11)); // past its expiry and the 10 s a valid check is reused
        var expired = await transfer.GetAsync($"node-api/v1/transfers/{mine}");
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
    }

    [Fact]
    public async Task ATransferToken_IsOnlyMadeForAnAccountOfThisNode_ForAtMostAWeek()
    {
        var (name, _, _) = await nodes.AccountWithMailAsync(1);

        var unknown = await nodes.Parent.Api.PostAsync("api/v1/node-tokens", new { name = "t", transferAccount = "nosuchaccount" });
        var tooLong = await nodes.Parent.Api.PostAsync("api/v1/node-tokens", new { name = "t", transferAccount = name, expiresAt = DateTimeOffset.UtcNow.AddDays(8) });
        var userToken = await nodes.Parent.Api.PostAsync("api/v1/api-tokens", new { name = "t", transferAccount = name });

        Assert.Contains("has no account \"nosuchaccount\" of its own", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("at most 7 days", tooLong.Message, StringComparison.Ordinal);
        Assert.Contains("Only a node API token", userToken.Message, StringComparison.Ordinal);
        var listed = (await nodes.Parent.Api.PostAsync("api/v1/node-tokens", new { name = "t", transferAccount = name })).Expect(HttpStatusCode.Created).Body.GetProperty("token");
        Assert.Equal(name, listed.GetProperty("transferAccount").GetString());
        Assert.True(listed.GetProperty("expiresAt").GetDateTimeOffset() < DateTimeOffset.UtcNow.AddHours(25));
    }
}
