namespace Portal.Tests.Passwords;

/// <summary>
/// Each node's own password rules, on a real parent and child: for an account whose mail is on the child, the child's
/// rule judges its email passwords and the parent's judges the rest, and every refusal names the node whose rule it was.
/// </summary>
[Collection(AccountsCollection.Name)]
public sealed class PasswordPolicyTests(AccountsFixture nodes)
{
    // Strength 61 (four words and a year): between the two minimums the tests set.
    private const string MiddlePassword = "Hidden-Ferret-Walks-1987";

    [Fact]
    public async Task EmailPasswords_OfADistributedAccount_FollowTheChildsRule_AndTheRefusalNamesTheChild()
    {
        var distributed = AccountsFixture.NewName("pwd");
        var local = AccountsFixture.NewName("pwl");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, distributed, nodes.ToMail1)).Expect(HttpStatusCode.Created);
        (await nodes.CreateAccountAsync(nodes.Parent.Api, local)).Expect(HttpStatusCode.Created);
        try
        {
            // The parent strict, the child lenient: only the local account's password is refused, by the parent's rule.
            await SetEmailMinimumAsync(nodes.Parent, 90);
            await SetEmailMinimumAsync(nodes.Mail1, 20);
            (await AddAddressAsync(distributed, "a")).Expect(HttpStatusCode.Created);
            var parentRefusal = await AddAddressAsync(local, "a");

            Assert.Equal(HttpStatusCode.BadRequest, parentRefusal.Status);
            Assert.Equal("password.too_weak", parentRefusal.Code);
            Assert.Contains($"rule of node {nodes.Parent.Name} for email accounts", parentRefusal.Message);
            Assert.Contains($"node {nodes.Parent.Name} requires at least 90", parentRefusal.Message);

            // The other way round: the child's rule refuses the distributed account's password, and says it is the child's.
            await SetEmailMinimumAsync(nodes.Parent, 20);
            await SetEmailMinimumAsync(nodes.Mail1, 90);
            (await AddAddressAsync(local, "b")).Expect(HttpStatusCode.Created);
            var childRefusal = await AddAddressAsync(distributed, "b");
            var changeRefusal = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{distributed}/mail/addresses/a@{AccountsFixture.NewDomain(distributed)}/password", new { password = MiddlePassword + "x" });

            Assert.Equal(HttpStatusCode.BadRequest, childRefusal.Status);
            Assert.Equal("password.too_weak", childRefusal.Code);
            Assert.Contains($"node {nodes.Mail1.Name} requires at least 90", childRefusal.Message);
            Assert.Equal(HttpStatusCode.BadRequest, changeRefusal.Status);
            Assert.Contains($"node {nodes.Mail1.Name} requires at least 90", changeRefusal.Message);
        }
        finally
        {
            await SetEmailMinimumAsync(nodes.Parent, null);
            await SetEmailMinimumAsync(nodes.Mail1, null);
        }
    }

    [Fact]
    public async Task AnAccountsRules_SayWhichNodeGovernsEachKindOfPassword()
    {
        var name = AccountsFixture.NewName("pwr");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);
        try
        {
            await SetEmailMinimumAsync(nodes.Mail1, 77);

            var rules = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/password-rules")).Expect(HttpStatusCode.OK).Body.EnumerateArray()
                .ToDictionary(r => r.GetProperty("scope").GetString()!, r => (Node: r.GetProperty("node").GetString(), Minimum: r.GetProperty("minimumStrength").GetInt32()));

            Assert.Equal((nodes.Mail1.Name, 77), rules["email"]);
            Assert.Equal(nodes.Mail1.Name, rules["mailing-list"].Node);
            Assert.Equal(nodes.Parent.Name, rules["account"].Node);
            Assert.Equal(nodes.Parent.Name, rules["ftp"].Node);
        }
        finally
        {
            await SetEmailMinimumAsync(nodes.Mail1, null);
        }
    }

    [Fact]
    public async Task TheOwnersPanelPassword_OfADistributedAccount_FollowsTheParentsRule()
    {
        var name = AccountsFixture.NewName("pwo");
        var password = "owner-Kq7vZp3xWm9t";
        var created = (await nodes.Parent.Api.PostAsync("api/v1/accounts", new
        {
            username = name, domain = AccountsFixture.NewDomain(name), contactEmail = $"o@{AccountsFixture.NewDomain(name)}", password, mailRouting = nodes.ToMail1,
        })).Expect(HttpStatusCode.Created);
        using var owner = await OwnerApiAsync(name);
        try
        {
            await SetMinimumsAsync(nodes.Mail1, new { account = 100 });
            await SetMinimumsAsync(nodes.Parent, new { account = 90 });
            var refused = await owner.PutAsync("api/v1/me/password", new { currentPassword = password, newPassword = MiddlePassword });

            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.Equal("password.too_weak", refused.Code);
            Assert.Contains($"node {nodes.Parent.Name} requires at least 90", refused.Message);

            // The child's stricter account rule does not apply: the owner signs in at the parent only.
            await SetMinimumsAsync(nodes.Parent, new { account = 40 });
            (await owner.PutAsync("api/v1/me/password", new { currentPassword = password, newPassword = MiddlePassword })).Expect(HttpStatusCode.NoContent);
            using var client = PortalHttp.CreateClient(nodes.Parent.BaseUrl);
            await client.SignInAsync(name, MiddlePassword);
        }
        finally
        {
            await SetMinimumsAsync(nodes.Mail1, new { account = (int?)null });
            await SetMinimumsAsync(nodes.Parent, new { account = (int?)null });
        }
    }

    [Fact]
    public async Task AnOwnPasswordChange_NeedsTheCurrentPassword()
    {
        var name = AccountsFixture.NewName("pwc");
        (await nodes.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain = AccountsFixture.NewDomain(name), contactEmail = $"o@{AccountsFixture.NewDomain(name)}", password = "owner-Kq7vZp3xWm9t" }))
            .Expect(HttpStatusCode.Created);
        using var owner = await OwnerApiAsync(name);

        var refused = await owner.PutAsync("api/v1/me/password", new { currentPassword = "not-the-Kq7vZp3xWm9t", newPassword = "quiet-Lantern-Orbit-5521" });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("password.current_wrong", refused.Code);
    }

    [Fact]
    public async Task WrongCurrentPasswords_CountTowardsTheLockout_ThenNothingChangesUntilItEnds()
    {
        var name = AccountsFixture.NewName("pwl");
        (await nodes.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain = AccountsFixture.NewDomain(name), contactEmail = $"o@{AccountsFixture.NewDomain(name)}", password = "owner-Kq7vZp3xWm9t" }))
            .Expect(HttpStatusCode.Created);
        using var owner = await OwnerApiAsync(name);

        // A stolen session or token guessing the current password: five wrong ones lock it (the node's default).
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("password.current_wrong", (await owner.PutAsync("api/v1/me/password", new { currentPassword = $"guess-{i}-Kq7vZp3xWm9t", newPassword = "quiet-Lantern-Orbit-5521" })).Code);
        }

        var locked = await owner.PutAsync("api/v1/me/password", new { currentPassword = "owner-Kq7vZp3xWm9t", newPassword = "quiet-Lantern-Orbit-5521" });

        Assert.Equal("password.locked_out", locked.Code);
        using var browser = PortalHttp.CreateClient(nodes.Parent.BaseUrl);
        Assert.Equal("/auth/lockout", (await browser.PostSignInAsync(name, "owner-Kq7vZp3xWm9t")).RedirectPath(browser));
    }

    [Fact]
    public async Task AnOwnPasswordChange_CanRevokeAllOfTheUsersApiTokens_WithIt()
    {
        var name = AccountsFixture.NewName("pwr");
        (await nodes.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain = AccountsFixture.NewDomain(name), contactEmail = $"o@{AccountsFixture.NewDomain(name)}", password = "owner-Kq7vZp3xWm9t" }))
            .Expect(HttpStatusCode.Created);
        using var owner = await OwnerApiAsync(name);
        using var script = await OwnerApiAsync(name);

        (await owner.PutAsync("api/v1/me/password", new { currentPassword = "owner-Kq7vZp3xWm9t", newPassword = "quiet-Lantern-Orbit-5521", revokeApiTokens = true })).Expect(HttpStatusCode.NoContent);

        Assert.Equal("token.revoked", (await script.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Code);
        Assert.Equal("token.revoked", (await owner.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Code);
    }

    [Fact]
    public async Task TheAuditLog_KeepsThatAPasswordWasRefused_NeverItsGuessableParts()
    {
        var name = AccountsFixture.NewName("pwa");
        const string weak = "Zebrafish1987";
        (await nodes.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain = AccountsFixture.NewDomain(name), contactEmail = $"o@{AccountsFixture.NewDomain(name)}", password = "owner-Kq7vZp3xWm9t" }))
            .Expect(HttpStatusCode.Created);
        using var owner = await OwnerApiAsync(name);
        try
        {
            await SetMinimumsAsync(nodes.Parent, new { account = 90, email = 90 });
            var refusals = new[]
            {
                await owner.PutAsync("api/v1/me/password", new { currentPassword = "owner-Kq7vZp3xWm9t", newPassword = weak }),
                await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "ann", password = weak }),
                await nodes.Parent.Api.PostAsync("api/v1/accounts", new { username = name + "x", domain = "x" + AccountsFixture.NewDomain(name), contactEmail = "o@example.org", password = weak }),
                await nodes.Parent.Api.PostAsync("api/v1/users", new { userName = name + "u", role = "Reseller", password = weak }),
            };

            // The person is told what makes it guessable...
            Assert.All(refusals, r => Assert.Contains("1987", r.Message));
            // ...the audit log only that it was refused.
            await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
            var details = await db.AuditEntries.Where(e => (e.Target != null && e.Target.Contains(name)) || e.ActorName == name)
                .Where(e => e.Outcome == AuditOutcome.Refused).Select(e => e.Details ?? "").ToListAsync();
            Assert.True(details.Count >= 4, string.Join("\n", details));
            Assert.All(details, d => Assert.DoesNotContain("1987", d, StringComparison.Ordinal));
            Assert.All(details, d => Assert.DoesNotContain("ebra", d, StringComparison.OrdinalIgnoreCase));
            Assert.Contains(details, d => d.Contains("The password was refused: too weak", StringComparison.Ordinal));
        }
        finally
        {
            await SetMinimumsAsync(nodes.Parent, new { account = (int?)null, email = (int?)null });
        }
    }

    [Fact]
    public async Task OnlyAdminsChangeTheRules_AndValuesOutOfRangeAreRefusedWithTheRange()
    {
        var (_, reseller) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        using (reseller)
        {
            var forbidden = await reseller.PutAsync("api/v1/password-policy", new { defaultStrength = 0 });
            var tooHigh = await nodes.Parent.Api.PutAsync("api/v1/password-policy", new { defaultStrength = 101, maxPasswordAgeDays = -1 });
            var unknown = await nodes.Parent.Api.PutAsync("api/v1/password-policy", new { scopes = new Dictionary<string, int?> { ["telnet"] = 10 } });
            var readable = await reseller.GetAsync("api/v1/password-policy");

            Assert.Equal(HttpStatusCode.Forbidden, forbidden.Status);
            Assert.Equal(HttpStatusCode.BadRequest, tooHigh.Status);
            Assert.Contains("between 0 and 100", tooHigh.Message);
            Assert.Contains("between 0 (no limit) and 3650 days", tooHigh.Message);
            Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
            Assert.Contains("\"telnet\" is not a password scope", unknown.Message);
            Assert.Equal(PasswordPolicyService.InitialDefaultStrength, readable.Expect(HttpStatusCode.OK).Body.GetProperty("defaultStrength").GetInt32());
        }
    }

    [Fact]
    public async Task APasswordPastTheNodesPasswordAge_LeadsEveryPageToThePasswordPage_UntilChanged()
    {
        var name = AccountsFixture.NewName("pwa");
        const string password = "owner-Kq7vZp3xWm9t";
        (await nodes.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain = AccountsFixture.NewDomain(name), contactEmail = $"o@{AccountsFixture.NewDomain(name)}", password }))
            .Expect(HttpStatusCode.Created);
        await using (var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString))
        {
            await db.Users.Where(u => u.UserName == name).ExecuteUpdateAsync(u => u.SetProperty(x => x.PasswordChangedAt, DateTimeOffset.UtcNow.AddDays(-40)));
        }

        try
        {
            using var client = PortalHttp.CreateClient(nodes.Parent.BaseUrl);
            await client.SignInAsync(name, password);
            var unlimited = await client.GetAsync("/account/email");
            await SetMinimumsAsync(nodes.Parent, new { }, maxPasswordAgeDays: 30);
            var expired = await client.GetAsync("/account/email");
            using var owner = await OwnerApiAsync(name);
            (await owner.PutAsync("api/v1/me/password", new { currentPassword = password, newPassword = "quiet-Lantern-Orbit-5521" })).Expect(HttpStatusCode.NoContent);
            var changed = await client.GetAsync("/account/email");

            Assert.Equal(HttpStatusCode.OK, unlimited.StatusCode);
            Assert.Equal("/account/password?expired=1", expired.RedirectPath(client));
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        }
        finally
        {
            await SetMinimumsAsync(nodes.Parent, new { }, maxPasswordAgeDays: 0);
        }
    }

    private Task<ApiResponse> AddAddressAsync(string account, string local) =>
        nodes.Parent.Api.PostAsync($"api/v1/accounts/{account}/mail/addresses", new { localPart = local, password = MiddlePassword });

    private static Task SetEmailMinimumAsync(PortalNode node, int? minimum) =>
        SetMinimumsAsync(node, new Dictionary<string, int?> { ["email"] = minimum });

    private static async Task SetMinimumsAsync(PortalNode node, object scopes, int? maxPasswordAgeDays = null) =>
        (await node.Api.PutAsync("api/v1/password-policy", new { scopes, maxPasswordAgeDays })).Expect(HttpStatusCode.OK);

    private Task<PortalApi> OwnerApiAsync(string name) => AccountsFixture.OwnerApiAsync(nodes.Parent, name);
}
