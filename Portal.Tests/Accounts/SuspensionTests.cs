namespace Portal.Tests.Accounts;

/// <summary>
/// A suspended account's owner cannot sign in or use API tokens, and is told why (only once the password is right);
/// open sessions end; only an admin lifts a suspension an admin made. (Mail changes: Mail/MailFeatureTests; the mail
/// servers: MailServers/MailServerTests.)
/// </summary>
[Collection(AccountsCollection.Name)]
public sealed class SuspensionTests(AccountsFixture nodes)
{
    private PortalApi Admin => nodes.Parent.Api;

    private const string OwnerPassword = "owner-Kq7vZp3xWm9t-sus";

    private async Task<string> AccountWithOwnerAsync(PortalApi creator)
    {
        var name = AccountsFixture.NewName("sus");
        (await creator.PostAsync("api/v1/accounts", new { username = name, domain = AccountsFixture.NewDomain(name), contactEmail = $"o@{name}.example.test", password = OwnerPassword }))
            .Expect(HttpStatusCode.Created);
        return name;
    }

    private async Task<string?> SecurityStampAsync(string userName)
    {
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        return await db.Users.Where(u => u.UserName == userName).Select(u => u.SecurityStamp).SingleAsync();
    }

    [Fact]
    public async Task ASuspendedOwner_CannotSignInNorUseTokens_AndIsToldWhy_UntilTheSuspensionIsLifted()
    {
        var name = await AccountWithOwnerAsync(Admin);
        var owner = await AccountsFixture.OwnerApiAsync(nodes.Parent, name);
        (await owner.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK);
        var stamp = await SecurityStampAsync(name);

        (await Admin.PutAsync($"api/v1/accounts/{name}", new { status = "Suspended", suspensionReason = "Invoice 42 is unpaid." })).Expect(HttpStatusCode.OK);

        var refused = await owner.GetAsync($"api/v1/accounts/{name}/mail/addresses");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Equal("account.suspended", refused.Code);
        Assert.Contains("Invoice 42 is unpaid.", refused.Message);
        using (var browser = PortalHttp.CreateClient(nodes.Parent.BaseUrl))
        {
            var page = await browser.PostSignInAsync(name, OwnerPassword);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("is suspended: Invoice 42 is unpaid.", WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync()));
            // A stranger without the password learns nothing of the suspension.
            var wrong = await browser.PostSignInAsync(name, OwnerPassword + "x");
            Assert.DoesNotContain("suspended", await wrong.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }

        // Sessions that were open end at their next check (a new security stamp).
        Assert.NotEqual(stamp, await SecurityStampAsync(name));

        (await Admin.PutAsync($"api/v1/accounts/{name}", new { status = "Active" })).Expect(HttpStatusCode.OK);
        (await owner.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK);
        using var again = PortalHttp.CreateClient(nodes.Parent.BaseUrl);
        await again.SignInAsync(name, OwnerPassword);
    }

    [Fact]
    public async Task AReseller_CannotLiftOrRewordAnAdminsSuspension_ButLiftsItsOwn()
    {
        var (_, reseller) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        var byAdmin = await AccountWithOwnerAsync(reseller);
        var byReseller = await AccountWithOwnerAsync(reseller);
        (await Admin.PutAsync($"api/v1/accounts/{byAdmin}", new { status = "Suspended", suspensionReason = "Abuse report 7." })).Expect(HttpStatusCode.OK);
        (await reseller.PutAsync($"api/v1/accounts/{byReseller}", new { status = "Suspended" })).Expect(HttpStatusCode.OK);

        var lift = await reseller.PutAsync($"api/v1/accounts/{byAdmin}", new { status = "Active" });
        var reword = await reseller.PutAsync($"api/v1/accounts/{byAdmin}", new { status = "Suspended", suspensionReason = "Nothing." });

        Assert.Equal(HttpStatusCode.Forbidden, lift.Status);
        Assert.Equal("account.suspended_by_admin", lift.Code);
        Assert.Equal("account.suspended_by_admin", reword.Code);
        var row = (await Admin.GetAsync($"api/v1/accounts/{byAdmin}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal("Suspended", row.GetProperty("status").GetString());
        Assert.Equal("Abuse report 7.", row.GetProperty("suspensionReason").GetString());
        var own = (await reseller.PutAsync($"api/v1/accounts/{byReseller}", new { status = "Active" })).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(JsonValueKind.Null, own.GetProperty("suspensionReason").ValueKind);
    }

    [Fact]
    public async Task ASuspensionReason_IsOneLineOfText()
    {
        var name = await AccountWithOwnerAsync(Admin);

        var refused = await Admin.PutAsync($"api/v1/accounts/{name}", new { status = "Suspended", suspensionReason = "line one\nline two" });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("one line of text", refused.Message);
    }
}
