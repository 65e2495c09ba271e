namespace Portal.Tests.Accounts;

/// <summary>
/// Which domains an account may take beyond being well formed and free: no public suffix, none of the panel's own
/// names, and nothing below another owner's account domain. The node refuses them, whoever asks.
/// </summary>
[Collection(AccountsCollection.Name)]
public sealed class DomainRulesTests(AccountsFixture nodes)
{
    private PortalApi Admin => nodes.Parent.Api;

    [Theory]
    [InlineData("co.uk")]
    [InlineData("github.io")]
    [InlineData("blogspot.com")]
    public async Task APublicSuffix_IsRefused_EvenForAnAdmin(string domain)
    {
        var refused = await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("ps"), domain: domain);

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("account.domain_refused", refused.Code);
        Assert.Contains("public suffix", refused.Message);
    }

    [Fact]
    public async Task ADomainRegisteredUnderAPublicSuffix_IsAccepted()
    {
        var name = AccountsFixture.NewName("reg");

        (await nodes.CreateAccountAsync(Admin, name, domain: $"{name}.co.uk")).Expect(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ns1.")]
    [InlineData("panel.ns2.")]
    public async Task ThePanelsOwnNames_AndTheDomainHoldingThem_AreRefused(string prefix)
    {
        var refused = await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("pn"), domain: prefix + AccountsFixture.ParentNameServerDomain);

        Assert.Equal("account.domain_refused", refused.Code);
        Assert.Contains("this panel's own host name", refused.Message);
    }

    [Fact]
    public async Task AReseller_CannotTakeANameBelowAnotherOwnersDomain_ButBelowItsOwn()
    {
        var (_, victim) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        var (_, attacker) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        var victimName = AccountsFixture.NewName("vic");
        (await nodes.CreateAccountAsync(victim, victimName)).Expect(HttpStatusCode.Created);
        var victimDomain = AccountsFixture.NewDomain(victimName);

        var refused = await nodes.CreateAccountAsync(attacker, AccountsFixture.NewName("att"), domain: "login." + victimDomain);
        var own = await nodes.CreateAccountAsync(victim, AccountsFixture.NewName("sub"), domain: "shop." + victimDomain);

        Assert.Equal("account.domain_refused", refused.Code);
        Assert.Contains($"lies under {victimDomain}, an account of another owner", refused.Message);
        own.Expect(HttpStatusCode.Created);
        var accounts = (await attacker.GetAsync("api/v1/accounts?take=200")).Expect(HttpStatusCode.OK).Body.GetProperty("items");
        Assert.Empty(accounts.EnumerateArray());
    }
}
