namespace Portal.Tests.Accounts;

/// <summary>Creating accounts on a parent with mail children: routing, the twin on the child, DNS, and every rule.</summary>
[Collection(AccountsCollection.Name)]
public sealed class DistributedAccountTests(AccountsFixture nodes)
{
    private PortalApi Admin => nodes.Parent.Api;

    [Fact]
    public async Task LocalAccount_IsCreatedWithItsOwnerSignInAndAZonePointingHere()
    {
        var name = AccountsFixture.NewName("loc");

        var created = (await nodes.CreateAccountAsync(Admin, name)).Expect(HttpStatusCode.Created);

        var account = created.Body.GetProperty("account");
        Assert.Equal(JsonValueKind.Null, account.GetProperty("mailNodeId").ValueKind);
        Assert.Equal("root", account.GetProperty("ownerName").GetString());
        var password = created.Body.GetProperty("generatedPassword").GetString()!;
        using var browser = PortalHttp.CreateClient(nodes.Parent.BaseUrl);
        await browser.SignInAsync(name, password);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("account")).StatusCode);

        var zone = (await Admin.GetAsync($"api/v1/accounts/{name}/zone")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(AccountsFixture.ParentAddress, Record(zone, "mail", "A"));
        Assert.Equal(AccountsFixture.ParentAddress, Record(zone, "@", "A"));
        Assert.Equal($"10 mail.{name}.example.test.", Record(zone, "@", "MX"));
    }

    [Fact]
    public async Task DistributedAccount_IsCreatedOnBothNodes_WithMailDnsOnTheChild()
    {
        var name = AccountsFixture.NewName("dist");

        var created = (await nodes.CreateAccountAsync(Admin, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);

        Assert.Equal("mail-1", created.Body.GetProperty("account").GetProperty("mailNodeAlias").GetString());
        var twin = (await nodes.Mail1.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal("root", twin.GetProperty("ownerName").GetString());
        // The child's grid tells its parent's account from its own (it said "Local").
        Assert.Equal("Parent's account · served here", twin.GetProperty("mailLocation").GetString());
        Assert.True(twin.GetProperty("isTwin").GetBoolean());
        Assert.Equal(AccountsFixture.NewDomain(name), twin.GetProperty("domain").GetString());

        var zone = (await Admin.GetAsync($"api/v1/accounts/{name}/zone")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(AccountsFixture.Mail1Address, Record(zone, "mail", "A"));
        Assert.Equal(AccountsFixture.Mail1Address, Record(zone, "webmail", "A"));
        Assert.Equal(AccountsFixture.ParentAddress, Record(zone, "@", "A"));
        Assert.Contains("ip4:" + AccountsFixture.Mail1Address, Record(zone, "@", "TXT"));
    }

    [Fact]
    public async Task AnOwnerSigningInOnTheChild_IsToldOnceToSignInAtTheParent_NotThatThePasswordIsWrong()
    {
        var name = AccountsFixture.NewName("own");
        var password = (await nodes.CreateAccountAsync(Admin, name, nodes.ToMail1)).Expect(HttpStatusCode.Created).Body.GetProperty("generatedPassword").GetString()!;
        using var browser = PortalHttp.CreateClient(nodes.Mail1.BaseUrl);

        var page = await (await browser.PostSignInAsync(name, password)).Content.ReadAsStringAsync();

        Assert.Contains("data-testid=\"signin-at-parent\"", page);
        Assert.Contains($"{name}</b> is an account of", page);
        Assert.DoesNotContain("is not right", page);
        Assert.DoesNotContain("data-testid=\"child-node-note\"", page);

        // A name the child knows nothing of gets the usual answer, and the note on where owners sign in.
        var stranger = await (await browser.PostSignInAsync("nobody" + name, password)).Content.ReadAsStringAsync();
        Assert.Contains("is not right", stranger);
        Assert.Contains("data-testid=\"child-node-note\"", stranger);
    }

    [Fact]
    public async Task Automatic_PicksTheLeastLoadedOnlineMailNode()
    {
        var counts = (await Admin.GetAsync("api/v1/mail-nodes")).Expect(HttpStatusCode.OK).Body.EnumerateArray()
            .ToDictionary(n => n.GetProperty("alias").GetString()!, n => n.GetProperty("accountCount").GetInt32());
        var expected = counts["mail-1"] <= counts["mail-2"] ? "mail-1" : "mail-2";
        if (counts["mail-1"] == counts["mail-2"])
        {
            // Make the choice clear: one more account on mail-1.
            (await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("fill"), nodes.ToMail1)).Expect(HttpStatusCode.Created);
            expected = "mail-2";
        }

        var created = (await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("auto"), new { kind = "Automatic" })).Expect(HttpStatusCode.Created);

        Assert.Equal(expected, created.Body.GetProperty("account").GetProperty("mailNodeAlias").GetString());
    }

    [Fact]
    public async Task WhenTheChildFails_NothingIsLeftOnEitherNode()
    {
        var name = AccountsFixture.NewName("half");
        await nodes.Mail2.StopAsync();
        ApiResponse refused;
        try
        {
            // The parent still believes mail-2 is online (no check since): the twin step fails.
            refused = await nodes.CreateAccountAsync(Admin, name, nodes.ToMail2);
        }
        finally
        {
            await nodes.Mail2.RestartAsync();
            // The minute's health check may have seen it stopped: look again, so later routing finds it online.
            (await Admin.PostAsync($"api/v1/linked-nodes/{nodes.Mail2Id}/check")).Expect(HttpStatusCode.OK);
        }

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("account.child_failed", refused.Code);
        Assert.Contains("Nothing was kept on either node", refused.Message);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync($"api/v1/accounts/{name}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await nodes.Mail2.Api.GetAsync($"api/v1/accounts/{name}")).Status);
        Assert.Empty((await Admin.GetAsync($"api/v1/users?search={name}")).Body.GetProperty("items").EnumerateArray());
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        Assert.False(db.DnsZones.Any(z => z.Name == AccountsFixture.NewDomain(name)));

        // Nothing stands in the way of trying again.
        (await nodes.CreateAccountAsync(Admin, name, nodes.ToMail2)).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task RoutingToAnOfflineNode_IsRefusedBeforeAnythingIsCreated()
    {
        await nodes.Mail2.StopAsync();
        ApiResponse refused;
        try
        {
            (await Admin.PostAsync($"api/v1/linked-nodes/{nodes.Mail2Id}/check")).Expect(HttpStatusCode.OK);
            refused = await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("off"), nodes.ToMail2);
        }
        finally
        {
            await nodes.Mail2.RestartAsync();
            // The minute's health check may have seen it stopped: look again, so later routing finds it online.
            (await Admin.PostAsync($"api/v1/linked-nodes/{nodes.Mail2Id}/check")).Expect(HttpStatusCode.OK);
            (await Admin.PostAsync($"api/v1/linked-nodes/{nodes.Mail2Id}/check")).Expect(HttpStatusCode.OK);
        }

        Assert.Equal("routing.node_offline", refused.Code);
        Assert.Contains("mail-2 is offline", refused.Message);
    }

    [Fact]
    public async Task Distributed_WithIpv6_IsRefused()
    {
        var refused = await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("six"), nodes.ToMail1, ipv6: true);

        Assert.Equal("account.not_distributable", refused.Code);
        Assert.Contains("cannot have IPv6 enabled", refused.Message);
    }

    [Fact]
    public async Task Distributed_WithoutTheApiTokensFeature_IsRefused()
    {
        var refused = await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("feat"), nodes.ToMail1, features: ["Email", "Webmail"]);

        Assert.Equal("account.not_distributable", refused.Code);
        Assert.Contains("\"API Tokens\" feature", refused.Message);
    }

    [Fact]
    public async Task Local_WithIpv6AndNoApiTokens_IsFine()
    {
        (await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("lsix"), ipv6: true, features: ["Email"])).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task AParentMayHaveSeveralMailChildren_EachAccountUsesOne()
    {
        var a = (await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("one"), nodes.ToMail1)).Expect(HttpStatusCode.Created);
        var b = (await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("two"), nodes.ToMail2)).Expect(HttpStatusCode.Created);

        Assert.Equal("mail-1", a.Body.GetProperty("account").GetProperty("mailNodeAlias").GetString());
        Assert.Equal("mail-2", b.Body.GetProperty("account").GetProperty("mailNodeAlias").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await nodes.Mail2.Api.GetAsync($"api/v1/accounts/{a.Body.GetProperty("account").GetProperty("username").GetString()}")).Status);
    }

    [Theory]
    [InlineData("Upper", "1-16 lowercase letters and digits")]
    [InlineData("1abc", "1-16 lowercase letters and digits")]
    [InlineData("has_underscore", "1-16 lowercase letters and digits")]
    [InlineData("abcdefghijklmnopq", "1-16 lowercase letters and digits")]
    public async Task BadUsernames_AreRefused(string name, string message)
    {
        var refused = await nodes.CreateAccountAsync(Admin, name, domain: AccountsFixture.NewDomain(AccountsFixture.NewName("d")));

        Assert.Equal("account.invalid", refused.Code);
        Assert.Contains(message, refused.Message);
    }

    [Theory]
    [InlineData("nodot", "is not a domain name")]
    [InlineData("-bad.example", "is not a domain name")]
    [InlineData("www.example.com", "without \"www.\"")]
    [InlineData("a..b.example", "is not a domain name")]
    public async Task BadDomains_AreRefused(string domain, string message)
    {
        var refused = await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("dom"), domain: domain);

        Assert.Equal("account.invalid", refused.Code);
        Assert.Contains(message, refused.Message);
    }

    [Fact]
    public async Task InternationalDomain_IsStoredAsPunycodeAndShownAsUnicode()
    {
        var name = AccountsFixture.NewName("idn");
        var unicode = $"bücher-{name}.example";

        var created = (await nodes.CreateAccountAsync(Admin, name, domain: unicode.ToUpperInvariant())).Expect(HttpStatusCode.Created).Body.GetProperty("account");

        Assert.StartsWith("xn--", created.GetProperty("domain").GetString());
        Assert.EndsWith(".example", created.GetProperty("domain").GetString());
        Assert.Equal(unicode, created.GetProperty("domainUnicode").GetString());
    }

    [Fact]
    public async Task ATakenUsernameOrDomain_IsRefused()
    {
        var name = AccountsFixture.NewName("dup");
        (await nodes.CreateAccountAsync(Admin, name)).Expect(HttpStatusCode.Created);

        var sameName = await nodes.CreateAccountAsync(Admin, name, domain: AccountsFixture.NewDomain(AccountsFixture.NewName("x")));
        var sameDomain = await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("dup"), domain: AccountsFixture.NewDomain(name));
        var adminsName = await nodes.CreateAccountAsync(Admin, "admin", domain: AccountsFixture.NewDomain(AccountsFixture.NewName("y")));

        Assert.Equal(HttpStatusCode.Conflict, sameName.Status);
        Assert.Contains("is taken on this node", sameName.Message);
        Assert.Contains("already belongs to an account on this node", sameDomain.Message);
        Assert.Contains("is taken on this node", adminsName.Message);
    }

    [Fact]
    public async Task ANameOrDomainTakenOnAChild_IsRefusedOnTheParent()
    {
        var name = AccountsFixture.NewName("kid");
        // An account the child's own admin made there.
        (await nodes.CreateAccountAsync(nodes.Mail2.Api, name)).Expect(HttpStatusCode.Created);

        var refused = await nodes.CreateAccountAsync(Admin, name);
        var domainRefused = await nodes.CreateAccountAsync(Admin, AccountsFixture.NewName("kid"), domain: AccountsFixture.NewDomain(name));

        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Contains("is taken on child node mail-2", refused.Message);
        Assert.Contains("already belongs to an account on child node mail-2", domainRefused.Message);
    }

    [Fact]
    public async Task Modify_ADistributedAccount_KeepsItsRules_AndChangesTheTwin()
    {
        var name = AccountsFixture.NewName("mod");
        (await nodes.CreateAccountAsync(Admin, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);

        var ipv6 = await Admin.PutAsync($"api/v1/accounts/{name}", new { ipv6Enabled = true });
        var noTokens = await Admin.PutAsync($"api/v1/accounts/{name}", new { features = new[] { "Email" } });
        var suspended = await Admin.PutAsync($"api/v1/accounts/{name}", new { status = "Suspended" });

        Assert.Equal("account.invalid", ipv6.Code);
        Assert.Contains("cannot have IPv6 enabled", ipv6.Message);
        Assert.Contains("\"API Tokens\" feature", noTokens.Message);
        suspended.Expect(HttpStatusCode.OK);
        Assert.Equal("Suspended", (await nodes.Mail1.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task OnTheChild_AnAdminReadsADistributedAccountAndItsMailboxes_ButCannotChangeThem()
    {
        var name = AccountsFixture.NewName("twin");
        (await nodes.CreateAccountAsync(Admin, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);
        (await Admin.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "info", password = "info-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);

        var refused = await nodes.Mail1.Api.PutAsync($"api/v1/accounts/{name}", new { status = "Suspended" });
        var mailboxes = (await nodes.Mail1.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body;
        var newMailbox = await nodes.Mail1.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "sneak", password = "sneak-Kq7vZp3xWm9t" });
        var password = await nodes.Mail1.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/info@{name}.example.test/password", new { password = "other-Kq7vZp3xWm9t" });

        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Equal("account.twin", refused.Code);
        Assert.Contains("change it on the parent", refused.Message);
        Assert.Equal("Active", (await nodes.Mail1.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("status").GetString());
        Assert.Equal([$"info@{name}.example.test"], mailboxes.EnumerateArray().Select(m => m.GetProperty("address").GetString()));
        Assert.Equal((HttpStatusCode.Conflict, "account.twin"), (newMailbox.Status, newMailbox.Code));
        Assert.Contains("its mail is changed on the parent", newMailbox.Message);
        Assert.Equal((HttpStatusCode.Conflict, "account.twin"), (password.Status, password.Code));
        var onParent = (await Admin.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal([$"info@{name}.example.test"], onParent.EnumerateArray().Select(m => m.GetProperty("address").GetString()));

        // The child's account page says whose account it is, shows its mailboxes, and offers no change.
        using var browser = PortalHttp.CreateClient(nodes.Mail1.BaseUrl);
        await browser.SignInAsync(PortalNode.AdminUserName, nodes.Mail1.AdminPassword);
        var page = await browser.GetStringAsync($"admin/accounts/{name}");
        Assert.Contains("data-testid=\"twin-notice\"", page);
        Assert.Contains("An account of the parent node", page);
        Assert.Contains("Its mail is served here.", page);
        Assert.Contains("here it is read-only", page);
        Assert.Matches($"href=\"http[^\"]+/admin/accounts/{name}\"[^>]*data-testid=\"twin-on-parent\"|data-testid=\"twin-on-parent\"[^>]*href=\"http[^\"]+/admin/accounts/{name}\"", page);
        Assert.DoesNotContain("data-testid=\"modify-save\"", page);
        Assert.DoesNotContain("data-testid=\"create-email\"", page);
        Assert.DoesNotContain("data-testid=\"move-start\"", page);
        Assert.DoesNotContain("data-testid=\"terminate-start\"", page);
        Assert.Contains("data-testid=\"mail-section\"", page);
        Assert.Contains("Its DNS zone is kept and served by the parent", page);
        Assert.DoesNotContain("has no DNS zone on this node", page);
    }

    [Fact]
    public async Task Unlink_IsRefusedWhileAccountsUseTheChild_AndTheListCountsThem()
    {
        var name = AccountsFixture.NewName("use");
        (await nodes.CreateAccountAsync(Admin, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);

        var refused = await Admin.DeleteAsync($"api/v1/linked-nodes/{nodes.Mail1Id}");
        var row = (await Admin.GetAsync($"api/v1/linked-nodes/{nodes.Mail1Id}")).Expect(HttpStatusCode.OK).Body;
        var distributed = (await Admin.GetAsync($"api/v1/accounts?mailNode={nodes.Mail1Id}&take=200")).Body;

        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Equal("node.in_use", refused.Code);
        Assert.Contains("Dedistribute them first", refused.Message);
        Assert.Equal(distributed.GetProperty("total").GetInt32(), row.GetProperty("accountCount").GetInt32());
        Assert.Contains(distributed.GetProperty("items").EnumerateArray(), a => a.GetProperty("username").GetString() == name);
        Assert.All(distributed.GetProperty("items").EnumerateArray(), a => Assert.Equal("mail-1", a.GetProperty("mailNodeAlias").GetString()));
    }

    [Fact]
    public async Task ZoneFile_IsStandardMasterFileText()
    {
        var name = AccountsFixture.NewName("zone");
        (await nodes.CreateAccountAsync(Admin, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);

        var text = (await Admin.GetAsync($"api/v1/accounts/{name}/zone/file")).Expect(HttpStatusCode.OK).Text;

        var domain = AccountsFixture.NewDomain(name);
        Assert.Contains($"$ORIGIN {domain}.", text);
        Assert.Contains("$TTL 3600", text);
        Assert.Matches(@"@\tIN\tSOA\t\S+\. hostmaster\." + System.Text.RegularExpressions.Regex.Escape(domain) + @"\. \(\d{10} ", text);
        Assert.Contains($"mail\t3600\tIN\tA\t{AccountsFixture.Mail1Address}", text);
        Assert.Contains($"webmail\t3600\tIN\tA\t{AccountsFixture.Mail1Address}", text);
        Assert.Contains($"www\t3600\tIN\tCNAME\t{domain}.", text);
        Assert.Contains($"@\t3600\tIN\tMX\t10 mail.{domain}.", text);
    }

    private static string Record(JsonElement zone, string name, string type) =>
        zone.GetProperty("records").EnumerateArray().First(r => r.GetProperty("name").GetString() == name && r.GetProperty("type").GetString() == type)
            .GetProperty("content").GetString()!;
}
