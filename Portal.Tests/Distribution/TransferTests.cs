namespace Portal.Tests.Distribution;

/// <summary>An account moves from one parent to another through the node API: owner, mail settings, mail, a fresh zone.</summary>
[Collection(MoveCollection.Name)]
public sealed class TransferTests(MoveFixture nodes)
{
    [Fact]
    public async Task AnAccount_TransferredToAnotherParent_ArrivesWhole_AndTheSourceKeepsIt()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(400);
        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination = "alice@" + domain })).Expect(HttpStatusCode.Created);
        foreach (var mailbox in mailboxes.Values)
        {
            MailGenerator.WriteState(mailbox, 1795940999);
        }

        var expected = MailSnapshots.Of(mailboxes);

        await TransferToTheOtherParentAsync(name);

        expected.AssertSameAt(nodes.Other.MailRoot, domain);
        // The source keeps its copy.
        expected.AssertSameAt(mailboxes);

        Assert.Equal(2, (await nodes.Other.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.GetArrayLength());
        Assert.Contains((await nodes.Other.Api.GetAsync($"api/v1/accounts/{name}/mail/forwarders")).Body.EnumerateArray(), f => f.GetProperty("destination").GetString() == "alice@" + domain);
        var zone = (await nodes.Other.Api.GetAsync($"api/v1/accounts/{name}/zone")).Body.GetProperty("records").EnumerateArray();
        Assert.Contains(zone, r => r.GetProperty("name").GetString() == "mail" && r.GetProperty("content").GetString() == "127.0.0.40");
        await using var source = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        await using var target = TestDatabases.OpenContext(nodes.Other.ConnectionString);
        var sourceHashes = await source.EmailAccounts.Where(e => e.Domain == domain).OrderBy(e => e.LocalPart).Select(e => e.PasswordHash).ToListAsync();
        Assert.Equal(sourceHashes, await target.EmailAccounts.Where(e => e.Domain == domain).OrderBy(e => e.LocalPart).Select(e => e.PasswordHash).ToListAsync());
        var ownerHash = await source.Users.Where(u => u.UserName == name).Select(u => u.PasswordHash).SingleAsync();
        Assert.Equal(ownerHash, await target.Users.Where(u => u.UserName == name).Select(u => u.PasswordHash).SingleAsync());
        Assert.Contains(source.AuditEntries, e => e.Action == "account.transfer.export" && e.Target == name);
    }

    [Fact]
    public async Task ATransfer_IsRefusedAtOnce_WithWhatToDo()
    {
        var (local, _, _) = await nodes.AccountWithMailAsync(5);
        object Request(string username, string secret) => new { address = nodes.Parent.HostUrl.ToString(), adminUserName = PortalNode.AdminUserName, token = secret, username, verifyTls = false };

        var badToken = await nodes.Other.Api.PostAsync("api/v1/transfers", Request(local, "pnt_not-a-token"));
        var general = await nodes.Other.Api.PostAsync("api/v1/transfers", Request(local, await LinkedNodesFixture.NodeTokenAsync(nodes.Parent, "general")));
        var otherAccount = await nodes.Other.Api.PostAsync("api/v1/transfers", Request("nosuchaccount", await LinkedNodesFixture.TransferTokenAsync(nodes.Parent, local)));
        var noSuchMailNode = await nodes.Other.Api.PostAsync("api/v1/transfers", new { address = nodes.Parent.HostUrl.ToString(), adminUserName = PortalNode.AdminUserName,
            token = await LinkedNodesFixture.TransferTokenAsync(nodes.Parent, local), username = local, verifyTls = false, mailNodeId = Guid.NewGuid() });

        Assert.Equal(HttpStatusCode.BadRequest, badToken.Status);
        Assert.Equal("transfer.preflight", badToken.Code);
        Assert.Contains("token", badToken.Message, StringComparison.OrdinalIgnoreCase);
        // A token must be made for the transfer of exactly that account.
        Assert.Contains($"Exporting {local} needs a token made for its transfer", general.Message, StringComparison.Ordinal);
        Assert.Contains($"made for the transfer of {local} only", otherAccount.Message, StringComparison.Ordinal);
        Assert.Contains("The chosen mail node is not linked to this node", noSuchMailNode.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await nodes.Other.Api.GetAsync($"api/v1/accounts/{local}")).Status);
    }

    /// <summary>The guide's gap closed: an account whose mail is on the source's child moves without coming back first.</summary>
    [Fact]
    public async Task ADistributedAccount_IsTransferredWithoutComingBackFirst_ItsMailStreamedFromTheSourcesChild()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(200);
        var expected = MailSnapshots.Of(mailboxes);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        // Made on the child through the source parent after the move: the export reads the child's settings.
        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "carol", password = "carol-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);

        await TransferToTheOtherParentAsync(name);

        expected.AssertSameAt(nodes.Other.MailRoot, domain);
        // The source keeps its copy.
        expected.AssertSameAt(nodes.Mail.MailRoot, domain);

        var addresses = (await nodes.Other.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.EnumerateArray().Select(a => a.GetProperty("address").GetString()).Order();
        Assert.Equal([$"alice@{domain}", $"bob@{domain}", $"carol@{domain}"], addresses);
        Assert.Equal("mail", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
    }

    /// <summary>
    /// The other parent's admin transfers the account from the parent with a transfer token the parent's admin made for
    /// it, as the two admins would; waits until the transfer has succeeded.
    /// </summary>
    private async Task TransferToTheOtherParentAsync(string name)
    {
        var token = await LinkedNodesFixture.TransferTokenAsync(nodes.Parent, name);
        var started = (await nodes.Other.Api.PostAsync("api/v1/transfers", new { address = nodes.Parent.HostUrl.ToString(), adminUserName = PortalNode.AdminUserName, token, username = name, verifyTls = false }))
            .Expect(HttpStatusCode.Accepted);
        var done = await nodes.Other.Api.WaitOperationAsync(started.Body.GetProperty("operationId").GetString()!, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed");
        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());
    }
}
