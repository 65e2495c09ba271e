namespace Portal.Tests.Accounts;

/// <summary>Resellers own their accounts only; their new accounts take the reseller's distribution at creation.</summary>
[Collection(AccountsCollection.Name)]
public sealed class ResellerTests(AccountsFixture nodes)
{
    private PortalApi Admin => nodes.Parent.Api;

    [Fact]
    public async Task ADistributedReseller_CreatesAccountsOnItsMailNode_OwnedByRootOnTheChild()
    {
        var (reseller, api) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        (await Admin.PutAsync($"api/v1/resellers/{reseller}/mail-node", new { nodeId = nodes.Mail1Id })).Expect(HttpStatusCode.OK);

        var created = (await nodes.CreateAccountAsync(api, AccountsFixture.NewName("rc"))).Expect(HttpStatusCode.Created).Body.GetProperty("account");

        Assert.Equal("mail-1", created.GetProperty("mailNodeAlias").GetString());
        Assert.Equal(reseller, created.GetProperty("ownerName").GetString());
        var twin = (await nodes.Mail1.Api.GetAsync($"api/v1/accounts/{created.GetProperty("username").GetString()}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal("root", twin.GetProperty("ownerName").GetString());
        // No reseller privileges on the child: the reseller does not exist there.
        Assert.Empty((await nodes.Mail1.Api.GetAsync($"api/v1/users?search={reseller}")).Body.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task ChangingTheResellersDistribution_DoesNotMoveItsExistingAccounts()
    {
        var (reseller, api) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        (await Admin.PutAsync($"api/v1/resellers/{reseller}/mail-node", new { nodeId = nodes.Mail1Id })).Expect(HttpStatusCode.OK);
        var before = (await nodes.CreateAccountAsync(api, AccountsFixture.NewName("rb"))).Expect(HttpStatusCode.Created).Body.GetProperty("account").GetProperty("username").GetString();

        (await Admin.PutAsync($"api/v1/resellers/{reseller}/mail-node", new { nodeId = (string?)null })).Expect(HttpStatusCode.OK);
        var after = (await nodes.CreateAccountAsync(api, AccountsFixture.NewName("ra"))).Expect(HttpStatusCode.Created).Body.GetProperty("account");

        Assert.Equal("mail-1", (await api.GetAsync($"api/v1/accounts/{before}")).Body.GetProperty("mailNodeAlias").GetString());
        Assert.Equal(JsonValueKind.Null, after.GetProperty("mailNodeId").ValueKind);
    }

    [Fact]
    public async Task ChangingAnOwnedAccount_DoesNotChangeTheResellersDistribution()
    {
        var (reseller, api) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        (await Admin.PutAsync($"api/v1/resellers/{reseller}/mail-node", new { nodeId = nodes.Mail2Id })).Expect(HttpStatusCode.OK);
        var name = (await nodes.CreateAccountAsync(api, AccountsFixture.NewName("ro"))).Expect(HttpStatusCode.Created).Body.GetProperty("account").GetProperty("username").GetString();

        (await Admin.PutAsync($"api/v1/accounts/{name}", new { status = "Suspended", contactEmail = "new@example.test" })).Expect(HttpStatusCode.OK);

        var row = (await Admin.GetAsync("api/v1/resellers")).Body.EnumerateArray().Single(r => r.GetProperty("userName").GetString() == reseller);
        Assert.Equal(nodes.Mail2Id, row.GetProperty("mailNodeId").GetString());
        Assert.Equal(1, row.GetProperty("accountCount").GetInt32());
    }

    [Fact]
    public async Task AReseller_CannotPickAnotherMailRouting()
    {
        var (_, api) = await AccountsFixture.CreateResellerAsync(nodes.Parent);

        var refused = await nodes.CreateAccountAsync(api, AccountsFixture.NewName("rp"), nodes.ToMail1);

        Assert.Equal("account.invalid", refused.Code);
        Assert.Contains("an admin changes that", refused.Message);
    }

    [Fact]
    public async Task AReseller_SeesAndManagesOnlyItsOwnAccounts_ThroughTheApi()
    {
        var (_, mine) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        var (_, theirs) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        var own = (await nodes.CreateAccountAsync(mine, AccountsFixture.NewName("own"))).Expect(HttpStatusCode.Created).Body.GetProperty("account").GetProperty("username").GetString()!;
        var foreign = (await nodes.CreateAccountAsync(theirs, AccountsFixture.NewName("frn"))).Expect(HttpStatusCode.Created).Body.GetProperty("account").GetProperty("username").GetString()!;
        var rootOwned = AccountsFixture.NewName("rto");
        (await nodes.CreateAccountAsync(Admin, rootOwned)).Expect(HttpStatusCode.Created);

        var list = (await mine.GetAsync("api/v1/accounts?take=200")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal([own], list.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("username").GetString()));
        Assert.Equal(1, list.GetProperty("total").GetInt32());

        foreach (var other in new[] { foreign, rootOwned })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await mine.GetAsync($"api/v1/accounts/{other}")).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await mine.PutAsync($"api/v1/accounts/{other}", new { status = "Suspended" })).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await mine.GetAsync($"api/v1/accounts/{other}/zone")).Status);
        }

        Assert.Equal("Active", (await Admin.GetAsync($"api/v1/accounts/{foreign}")).Body.GetProperty("status").GetString());
        (await mine.PutAsync($"api/v1/accounts/{own}", new { status = "Suspended" })).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AReseller_CannotUseTheAdminsApi()
    {
        var (reseller, api) = await AccountsFixture.CreateResellerAsync(nodes.Parent);

        Assert.Equal(HttpStatusCode.Forbidden, (await api.GetAsync("api/v1/mail-nodes")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.GetAsync("api/v1/resellers")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.PutAsync($"api/v1/resellers/{reseller}/mail-node", new { nodeId = nodes.Mail1Id })).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.GetAsync("api/v1/linked-nodes")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.PostAsync("api/v1/users", new { userName = "sneaky1", role = "User" })).Status);
    }

    [Fact]
    public async Task AReseller_SeesOnlyItsOwnAccounts_InTheUi()
    {
        var password = "reseller-Kq7vZp3x-" + Guid.NewGuid().ToString("N")[..6];
        var name = AccountsFixture.NewName("rui");
        var created = (await Admin.PostAsync("api/v1/users", new { userName = name, role = "Reseller", password })).Expect(HttpStatusCode.Created);
        using var api = new PortalApi(nodes.Parent.BaseUrl, await AccountsFixture.SeedTokenAsync(nodes.Parent, created.Field("id"), name));
        var own = (await nodes.CreateAccountAsync(api, AccountsFixture.NewName("uo"))).Expect(HttpStatusCode.Created).Body.GetProperty("account").GetProperty("username").GetString()!;
        var foreign = AccountsFixture.NewName("uf");
        (await nodes.CreateAccountAsync(Admin, foreign)).Expect(HttpStatusCode.Created);

        using var browser = PortalHttp.CreateClient(nodes.Parent.BaseUrl);
        await browser.SignInAsync(name, password);
        var ownPage = await browser.GetStringAsync($"reseller/accounts/{own}");
        var foreignPage = WebUtility.HtmlDecode(await browser.GetStringAsync($"reseller/accounts/{foreign}"));
        var foreignZone = await browser.GetAsync($"reseller/accounts/{foreign}/zone-file");
        var ownZone = await browser.GetAsync($"reseller/accounts/{own}/zone-file");
        var adminGrid = await browser.GetAsync("admin/accounts");

        Assert.Contains("Linked Nodes", ownPage);
        Assert.Contains($"There is no account \"{foreign}\" that you can see", foreignPage);
        Assert.Equal(HttpStatusCode.NotFound, foreignZone.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ownZone.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, adminGrid.StatusCode);
    }
}
