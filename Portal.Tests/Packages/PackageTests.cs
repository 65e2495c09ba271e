namespace Portal.Tests.Packages;

/// <summary>
/// Packages on a parent with two mail children, over the public API: accounts made from them, the mailbox limit here
/// and on a child, resellers' limits, a change's preview and its application to every account (the child's twin too).
/// </summary>
[Collection(AccountsCollection.Name)]
public sealed class PackageTests(AccountsFixture nodes)
{
    private const string Password = "pkg-owner-Kq7vZp3xWm9t";

    private PortalApi Admin => nodes.Parent.Api;

    [Fact]
    public async Task AnAccountFromAPackage_TakesItsFeaturesMailLimitAndMailNode()
    {
        var package = await PackageAsync(features: ["ApiTokens", "Email"], quota: 500, routing: nodes.ToMail1);
        var name = AccountsFixture.NewName("pa");

        var created = (await CreateAsync(Admin, name, package)).Expect(HttpStatusCode.Created).Body.GetProperty("account");

        Assert.Equal(["ApiTokens", "Email"], created.GetProperty("features").EnumerateArray().Select(f => f.GetString()).Order());
        Assert.Equal(500, created.GetProperty("mailQuotaMegabytes").GetInt32());
        Assert.Equal("mail-1", created.GetProperty("mailNodeAlias").GetString());
        Assert.Equal(package, (await Admin.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body.GetProperty("package").GetString());
        var listed = (await Admin.GetAsync("api/v1/packages")).Expect(HttpStatusCode.OK).Body.EnumerateArray().Single(p => p.GetProperty("name").GetString() == package);
        Assert.Equal(1, listed.GetProperty("accountCount").GetInt32());
        // The twin on the child has the package's features (the child enforces "Email" for its mailboxes too).
        var twin = (await nodes.Mail1.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(["ApiTokens", "Email"], twin.GetProperty("features").EnumerateArray().Select(f => f.GetString()).Order());
    }

    [Fact]
    public async Task AValueThatDiffersFromThePackage_IsRefused_NotOverridden()
    {
        var package = await PackageAsync(features: ["ApiTokens", "Email"], quota: 500);
        var name = AccountsFixture.NewName("pd");

        var refused = await CreateAsync(Admin, name, package, features: ["ApiTokens", "Email", "Webmail"], quota: 900);
        var same = await CreateAsync(Admin, AccountsFixture.NewName("ps"), package, features: ["Email", "ApiTokens"], quota: 500);

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("account.invalid", refused.Code);
        Assert.Contains($"Package {package} gives the account its features (API Tokens, Email accounts), mail limit (500 MiB)", refused.Message);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync($"api/v1/accounts/{name}")).Status);
        Assert.Equal(HttpStatusCode.Created, same.Status);
        Assert.True(await AuditedAsync("account.create", name, AuditOutcome.Refused));
    }

    [Fact]
    public async Task AnUnknownPackage_IsRefused()
    {
        var refused = await CreateAsync(Admin, AccountsFixture.NewName("pu"), "no-such-package");

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("There is no package \"no-such-package\"", refused.Message);
    }

    [Fact]
    public async Task AResellersAccountFromAPackage_StartsWhereTheResellersRoutingSays()
    {
        var package = await PackageAsync(features: ["ApiTokens", "Email"], quota: 100, routing: nodes.ToMail1);
        var (reseller, api) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        (await Admin.PutAsync($"api/v1/resellers/{reseller}/mail-node", new { nodeId = nodes.Mail2Id })).Expect(HttpStatusCode.OK);

        var created = (await CreateAsync(api, AccountsFixture.NewName("pr"), package)).Expect(HttpStatusCode.Created).Body.GetProperty("account");

        Assert.Equal("mail-2", created.GetProperty("mailNodeAlias").GetString());
        Assert.Equal(reseller, created.GetProperty("ownerName").GetString());
        Assert.Equal(100, created.GetProperty("mailQuotaMegabytes").GetInt32());
        // Resellers see the packages to choose from, but do not change them.
        Assert.Contains((await api.GetAsync("api/v1/packages")).Expect(HttpStatusCode.OK).Body.EnumerateArray(), p => p.GetProperty("name").GetString() == package);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.DeleteAsync($"api/v1/packages/{package}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.PostAsync("api/v1/packages", new { name = AccountsFixture.NewName("pkr") })).Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheMailboxLimit_RefusesTheMailboxPastIt_HereAndOnAChild(bool onChild)
    {
        var package = await PackageAsync(features: ["ApiTokens", "Email"], maxMailboxes: 1, routing: onChild ? nodes.ToMail1 : null);
        var name = AccountsFixture.NewName("pm");
        (await CreateAsync(Admin, name, package)).Expect(HttpStatusCode.Created);
        (await Admin.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "first", password = "first-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);

        var refused = await Admin.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "second", password = "second-Kq7vZp3xWm9t" });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("email.mailbox_limit", refused.Code);
        Assert.Contains($"The account's package {package} allows 1 mailbox(es); {name} has 1.", refused.Message);
        var where = onChild ? nodes.Mail1.Api : Admin;
        Assert.Single((await where.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.EnumerateArray());
        Assert.True(await AuditedAsync("email.create", name, AuditOutcome.Refused));
    }

    [Fact]
    public async Task AResellerAtItsAccountLimit_IsRefused_AndSeesItsUsageAgainstIt()
    {
        var (reseller, api) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        (await Admin.PutAsync($"api/v1/resellers/{reseller}/limits", new { maxAccounts = 1 })).Expect(HttpStatusCode.OK);
        (await nodes.CreateAccountAsync(api, AccountsFixture.NewName("rl"))).Expect(HttpStatusCode.Created);
        var second = AccountsFixture.NewName("rl");

        var refused = await nodes.CreateAccountAsync(api, second);
        var byAdmin = await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("rl"), owner: reseller);

        Assert.Equal("reseller.limit", refused.Code);
        Assert.Contains($"Reseller {reseller} may own 1 account(s) and owns 1", refused.Message);
        Assert.Equal("reseller.limit", byAdmin.Code);
        Assert.True(await AuditedAsync("account.create", second, AuditOutcome.Refused));
        var row = (await Admin.GetAsync("api/v1/resellers")).Body.EnumerateArray().Single(r => r.GetProperty("userName").GetString() == reseller);
        Assert.Equal(1, row.GetProperty("maxAccounts").GetInt32());
        Assert.Equal(1, row.GetProperty("accountCount").GetInt32());
    }

    [Fact]
    public async Task AResellersDiskLimit_CountsItsAccountsMailLimits()
    {
        var (reseller, api) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        (await Admin.PutAsync($"api/v1/resellers/{reseller}/limits", new { maxDiskMegabytes = 1000 })).Expect(HttpStatusCode.OK);
        var package = await PackageAsync(features: ["ApiTokens", "Email"], quota: 600);
        var first = AccountsFixture.NewName("rd");

        var unlimited = await nodes.CreateAccountAsync(api, AccountsFixture.NewName("rd"));
        (await CreateAsync(api, first, package)).Expect(HttpStatusCode.Created);
        var tooMuch = await CreateAsync(api, AccountsFixture.NewName("rd"), package);
        var raised = await api.PutAsync($"api/v1/accounts/{first}", new { mailQuotaMegabytes = 1500 });
        var lowered = await api.PutAsync($"api/v1/accounts/{first}", new { mailQuotaMegabytes = 300 });
        var fits = await CreateAsync(api, AccountsFixture.NewName("rd"), null, quota: 700);

        Assert.Equal("reseller.limit", unlimited.Code);
        Assert.Contains("so each of its accounts needs a mail limit", unlimited.Message);
        Assert.Equal("reseller.limit", tooMuch.Code);
        Assert.Contains("its other accounts are given 600 MiB, so at most 400 MiB is left for this one", tooMuch.Message);
        Assert.Equal("reseller.limit", raised.Code);
        Assert.True(await AuditedAsync("account.modify", first, AuditOutcome.Refused));
        Assert.Equal(HttpStatusCode.OK, lowered.Status);
        Assert.Equal(HttpStatusCode.Created, fits.Status);
        var row = (await Admin.GetAsync("api/v1/resellers")).Body.EnumerateArray().Single(r => r.GetProperty("userName").GetString() == reseller);
        Assert.Equal(1000, row.GetProperty("allocatedMegabytes").GetInt64());
        Assert.Equal(1000, row.GetProperty("maxDiskMegabytes").GetInt32());
    }

    [Fact]
    public async Task ThePreview_SaysWhatChangesForEachAccount_AndAChangeItRefusesChangesNothing()
    {
        var package = await PackageAsync(features: ["ApiTokens", "Email", "Forwarders"], quota: 1000, maxMailboxes: 5);
        var (busy, full) = (AccountsFixture.NewName("pvb"), AccountsFixture.NewName("pvf"));
        (await CreateAsync(Admin, busy, package)).Expect(HttpStatusCode.Created);
        (await CreateAsync(Admin, full, package)).Expect(HttpStatusCode.Created);
        foreach (var local in new[] { "one", "two" })
        {
            (await Admin.PostAsync($"api/v1/accounts/{busy}/mail/addresses", new { localPart = local, password = $"{local}-Kq7vZp3xWm9t", quotaMegabytes = 100 })).Expect(HttpStatusCode.Created);
        }

        await using (var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString))
        {
            await db.Accounts.Where(a => a.Username == full).ExecuteUpdateAsync(u => u.SetProperty(a => a.DiskUsageBytes, 600L << 20));
        }

        var proposal = new { name = package, features = new[] { "ApiTokens", "Email", "Webmail" }, mailQuotaMegabytes = 500, maxMailboxes = 1, mailRouting = nodes.ToMail2 };
        var preview = (await Admin.PostAsync($"api/v1/packages/{package}/preview", proposal)).Expect(HttpStatusCode.OK).Body;
        var applied = await Admin.PutAsync($"api/v1/packages/{package}", proposal);

        var rows = preview.GetProperty("accounts").EnumerateArray().ToDictionary(a => a.GetProperty("username").GetString()!);
        Assert.Equal([busy, full], rows.Keys.Order());
        Assert.Equal(["Webmail"], rows[busy].GetProperty("featuresAdded").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(["Forwarders"], rows[busy].GetProperty("featuresRemoved").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(1000, rows[busy].GetProperty("quotaFrom").GetInt32());
        Assert.Equal(500, rows[busy].GetProperty("quotaTo").GetInt32());
        Assert.Equal(5, rows[busy].GetProperty("maxMailboxesFrom").GetInt32());
        Assert.Equal(1, rows[busy].GetProperty("maxMailboxesTo").GetInt32());
        Assert.Equal(2, rows[busy].GetProperty("mailboxes").GetInt32());
        Assert.Equal(["It has 2 mailboxes, more than the new limit of 1."], rows[busy].GetProperty("problems").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(["It holds 600 MiB of mail, more than the new mail limit of 500 MiB."], rows[full].GetProperty("problems").EnumerateArray().Select(p => p.GetString()));
        Assert.False(preview.GetProperty("canApply").GetBoolean());
        Assert.Contains(preview.GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("existing accounts keep their mail where it is", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.Conflict, applied.Status);
        Assert.Equal("package.accounts_refused", applied.Code);
        Assert.Contains($"{busy}: It has 2 mailboxes", applied.Message);
        var unchanged = (await Admin.GetAsync($"api/v1/packages/{package}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(1000, unchanged.GetProperty("mailQuotaMegabytes").GetInt32());
        Assert.Equal(1000, (await Admin.GetAsync($"api/v1/accounts/{busy}")).Body.GetProperty("mailQuotaMegabytes").GetInt32());
        Assert.True(await AuditedAsync("package.update", package, AuditOutcome.Refused));
    }

    [Fact]
    public async Task ApplyingAChange_UpdatesEveryAccount_TheChildsTwinToo_AndNewAccountsTakeTheNewRouting()
    {
        var package = await PackageAsync(features: ["ApiTokens", "Email", "Webmail"], quota: 1000);
        var here = AccountsFixture.NewName("aph");
        (await CreateAsync(Admin, here, package)).Expect(HttpStatusCode.Created);
        var routed = new { name = package, features = new[] { "ApiTokens", "Email", "Webmail" }, mailQuotaMegabytes = 1000, mailRouting = nodes.ToMail1 };
        var routedPreview = (await Admin.PostAsync($"api/v1/packages/{package}/preview", routed)).Expect(HttpStatusCode.OK).Body;
        (await Admin.PutAsync($"api/v1/packages/{package}", routed)).Expect(HttpStatusCode.OK);
        var there = AccountsFixture.NewName("apt");
        (await CreateAsync(Admin, there, package)).Expect(HttpStatusCode.Created);

        var update = (await Admin.PutAsync($"api/v1/packages/{package}", new { name = package, features = new[] { "ApiTokens", "Email" }, mailQuotaMegabytes = 2000, mailRouting = nodes.ToMail1 }))
            .Expect(HttpStatusCode.OK).Body;

        // The routing change touched no account; the next change touched both.
        Assert.All(routedPreview.GetProperty("accounts").EnumerateArray(), a => Assert.Empty(a.GetProperty("featuresAdded").EnumerateArray()));
        Assert.Equal("Local", (await Admin.GetAsync($"api/v1/accounts/{here}")).Body.GetProperty("mailLocation").GetString());
        Assert.Equal("mail-1", (await Admin.GetAsync($"api/v1/accounts/{there}")).Body.GetProperty("mailNodeAlias").GetString());
        Assert.All(update.GetProperty("accounts").EnumerateArray(), a =>
        {
            Assert.True(a.GetProperty("changed").GetBoolean());
            Assert.Equal(JsonValueKind.Null, a.GetProperty("problem").ValueKind);
        });
        foreach (var name in new[] { here, there })
        {
            var account = (await Admin.GetAsync($"api/v1/accounts/{name}")).Body;
            Assert.Equal(["ApiTokens", "Email"], account.GetProperty("features").EnumerateArray().Select(f => f.GetString()).Order());
            Assert.Equal(2000, account.GetProperty("mailQuotaMegabytes").GetInt32());
            Assert.True(await AuditedAsync("account.modify", name, AuditOutcome.Succeeded));
        }

        var twin = (await nodes.Mail1.Api.GetAsync($"api/v1/accounts/{there}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(["ApiTokens", "Email"], twin.GetProperty("features").EnumerateArray().Select(f => f.GetString()).Order());
        Assert.True(await AuditedAsync("package.update", package, AuditOutcome.Succeeded));
    }

    [Fact]
    public async Task APackageWithMailOnAChild_MustKeepApiTokensAndIpv6Off()
    {
        var refused = await Admin.PostAsync("api/v1/packages", new { name = AccountsFixture.NewName("pkc"), features = new[] { "Email" }, ipv6Enabled = true, mailRouting = nodes.ToMail1 });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("package.invalid", refused.Code);
        Assert.Contains("cannot have IPv6 enabled", refused.Message);
        Assert.Contains("needs the \"API Tokens\" feature", refused.Message);
    }

    [Fact]
    public async Task APackageInUse_CannotBeDeleted_UntilItsAccountsLeaveIt()
    {
        var package = await PackageAsync(features: ["ApiTokens", "Email"]);
        var name = AccountsFixture.NewName("pdl");
        (await CreateAsync(Admin, name, package)).Expect(HttpStatusCode.Created);

        var refused = await Admin.DeleteAsync($"api/v1/packages/{package}");
        (await Admin.PutAsync($"api/v1/accounts/{name}/package", new { package = (string?)null })).Expect(HttpStatusCode.OK);
        var deleted = await Admin.DeleteAsync($"api/v1/packages/{package}");

        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Equal("package.in_use", refused.Code);
        Assert.Contains($"Package {package} is used by 1 account(s) ({name})", refused.Message);
        Assert.True(await AuditedAsync("package.delete", package, AuditOutcome.Refused));
        Assert.Equal(HttpStatusCode.NoContent, deleted.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync($"api/v1/packages/{package}")).Status);
        // Off its package, the account keeps what the package gave it.
        var account = (await Admin.GetAsync($"api/v1/accounts/{name}")).Body;
        Assert.Equal(JsonValueKind.Null, account.GetProperty("package").ValueKind);
        Assert.Equal(["ApiTokens", "Email"], account.GetProperty("features").EnumerateArray().Select(f => f.GetString()).Order());
    }

    [Fact]
    public async Task PuttingAnAccountOnAPackage_GivesItThePackagesValues()
    {
        var package = await PackageAsync(features: ["ApiTokens", "Forwarders"], quota: 250);
        var name = AccountsFixture.NewName("pon");
        (await nodes.CreateAccountAsync(Admin, name)).Expect(HttpStatusCode.Created);

        var row = (await Admin.PutAsync($"api/v1/accounts/{name}/package", new { package })).Expect(HttpStatusCode.OK).Body;

        Assert.Equal(package, row.GetProperty("package").GetString());
        Assert.Equal(["ApiTokens", "Forwarders"], row.GetProperty("features").EnumerateArray().Select(f => f.GetString()).Order());
        Assert.Equal(250, row.GetProperty("mailQuotaMegabytes").GetInt32());
        Assert.True(await AuditedAsync("account.package", name, AuditOutcome.Succeeded));
    }

    private async Task<string> PackageAsync(string[] features, int? quota = null, int? maxMailboxes = null, object? routing = null)
    {
        var name = AccountsFixture.NewName("pkg");
        (await Admin.PostAsync("api/v1/packages", new { name, features, mailQuotaMegabytes = quota, maxMailboxes, mailRouting = routing })).Expect(HttpStatusCode.Created);
        return name;
    }

    private static Task<ApiResponse> CreateAsync(PortalApi api, string name, string? package, string[]? features = null, int? quota = null) =>
        api.PostAsync("api/v1/accounts", new
        {
            username = name,
            domain = AccountsFixture.NewDomain(name),
            contactEmail = $"owner@{name}.example.test",
            password = Password,
            package,
            features,
            mailQuotaMegabytes = quota,
        });

    private async Task<bool> AuditedAsync(string action, string target, AuditOutcome outcome)
    {
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        return await db.AuditEntries.AnyAsync(e => e.Action == action && e.Target == target && e.Outcome == outcome);
    }
}
