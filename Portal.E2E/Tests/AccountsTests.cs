namespace Portal.E2E.Tests;

[Collection(AccountsBrowserCollection.Name)]
public sealed class AccountsTests(AccountsBrowserFixture fixture)
{
    [Fact]
    public async Task AReseller_CreatesAnAccount_ThatInheritsItsMailNode()
    {
        var reseller = "res" + Guid.NewGuid().ToString("N")[..6];
        var password = "reseller-Kq7vZp3x-" + Guid.NewGuid().ToString("N")[..8];
        (await fixture.Parent.Api.PostAsync("api/v1/users", new { userName = reseller, role = "Reseller", password })).Expect(HttpStatusCode.Created);
        (await fixture.Parent.Api.PutAsync($"api/v1/resellers/{reseller}/mail-node", new { nodeId = fixture.ChildId })).Expect(HttpStatusCode.OK);
        var account = "acct" + Guid.NewGuid().ToString("N")[..6];

        var page = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(page).SignInAsync(reseller, password);
        await page.GotoInteractiveAsync("/reseller/accounts/new");
        await Assertions.Expect(page.Locator("[data-testid=inherited-routing]")).ToContainTextAsync("on mail node mail-1");
        await page.Locator("[data-testid=account-username]").FillAsync(account);
        await page.Locator("[data-testid=account-domain]").FillAsync($"{account}.example.test");
        await page.Locator("[data-testid=account-email]").FillAsync($"owner@{account}.example.test");
        await page.ClickAsync("[data-testid=account-create]");

        await Assertions.Expect(page.Locator("[data-testid=created-mail-location]")).ToHaveTextAsync("on mail-1");
        await page.GotoInteractiveAsync("/reseller/accounts");
        var row = page.Locator("[data-testid=accounts-grid] tr").Filter(new() { HasText = account });
        await Assertions.Expect(row.Locator("[data-testid=account-mail-node]")).ToHaveTextAsync("mail-1");
    }

    [Fact]
    public async Task AnAdmin_FiltersTheAccountsGrid()
    {
        var prefix = "flt" + Guid.NewGuid().ToString("N")[..4];
        foreach (var i in Enumerable.Range(1, 3))
        {
            var mailRouting = i == 2 ? new { kind = "Node", nodeId = (string?)fixture.ChildId } : new { kind = "Local", nodeId = (string?)null };
            (await fixture.Parent.Api.PostAsync("api/v1/accounts", new { username = $"{prefix}{i}", domain = $"{prefix}{i}.example.test", contactEmail = "o@example.test", mailRouting }))
                .Expect(HttpStatusCode.Created);
        }

        (await fixture.Parent.Api.PostAsync("api/v1/accounts", new { username = "zz" + prefix, domain = $"zz{prefix}.example.test", contactEmail = "o@example.test" }))
            .Expect(HttpStatusCode.Created);

        var page = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(page).SignInAsync(PortalNode.AdminUserName, fixture.Parent.AdminPassword);
        await page.GotoInteractiveAsync("/admin/accounts");
        await page.Locator("[data-testid=filter-username]").FillAsync(prefix);

        var links = page.Locator("[data-testid=account-link]");
        await Assertions.Expect(links).ToHaveTextAsync([$"{prefix}1", $"{prefix}2", $"{prefix}3"]);

        // "View Distributed Accounts" of the child: the grid filtered to its mail node.
        await page.GotoInteractiveAsync($"/admin/accounts?mailNode={fixture.ChildId}");
        await page.Locator("[data-testid=filter-username]").FillAsync(prefix);
        await Assertions.Expect(links).ToHaveTextAsync([$"{prefix}2"]);
        await Assertions.Expect(page.Locator("[data-testid=account-mail-node]")).ToHaveTextAsync(["mail-1"]);
    }

    [Fact]
    public async Task AReseller_RenamesItsAccount_AndMovesItToANewDomain_ConfirmingEach()
    {
        var reseller = "res" + Guid.NewGuid().ToString("N")[..6];
        var password = "reseller-Kq7vZp3x-" + Guid.NewGuid().ToString("N")[..8];
        (await fixture.Parent.Api.PostAsync("api/v1/users", new { userName = reseller, role = "Reseller", password })).Expect(HttpStatusCode.Created);
        var page = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(page).SignInAsync(reseller, password);
        var account = "ren" + Guid.NewGuid().ToString("N")[..6];
        await page.GotoInteractiveAsync("/reseller/accounts/new");
        await page.Locator("[data-testid=account-username]").FillAsync(account);
        await page.Locator("[data-testid=account-domain]").FillAsync($"{account}.example.test");
        await page.Locator("[data-testid=account-email]").FillAsync($"owner@{account}.example.test");
        await page.ClickAsync("[data-testid=account-create]");
        await Assertions.Expect(page.Locator("[data-testid=created-mail-location]")).ToBeVisibleAsync();
        var renamed = "new" + account;

        await page.GotoInteractiveAsync($"/reseller/accounts/{account}");
        await page.Locator("[data-testid=rename-username]").FillAsync(renamed);
        await page.ClickAsync("[data-testid=rename-start]");
        await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { Name = "Rename", Exact = true }).ClickAsync();
        await page.WaitForURLAsync($"**/reseller/accounts/{renamed}");
        await page.Locator("[data-testid=domain-new]").FillAsync($"{renamed}.example.test");
        await page.ClickAsync("[data-testid=domain-start]");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change the domain" }).ClickAsync();

        await Assertions.Expect(page.Locator("[data-testid=zone-section]")).ToContainTextAsync($"{renamed}.example.test · serial");
        var row = (await fixture.Parent.Api.GetAsync($"api/v1/accounts/{renamed}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal($"{renamed}.example.test", row.GetProperty("domain").GetString());
    }

    [Fact]
    public async Task AnOwner_DeletesAForwarder_OnlyAfterSayingYes()
    {
        var name = "fwd" + Guid.NewGuid().ToString("N")[..6];
        var password = "owner-Kq7vZp3x-" + Guid.NewGuid().ToString("N")[..8];
        (await fixture.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain = $"{name}.example.test", contactEmail = $"o@{name}.example.test", password })).Expect(HttpStatusCode.Created);
        (await fixture.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination = "someone@example.org" })).Expect(HttpStatusCode.Created);
        var page = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(page).SignInAsync(name, password);
        await page.GotoInteractiveAsync("/account/forwarders");
        var rows = page.Locator("[data-testid=forwarders] tbody tr").Filter(new() { HasText = "someone@example.org" });
        await Assertions.Expect(rows).ToHaveCountAsync(1);

        await page.ClickAsync("[data-testid=forwarder-delete]");
        await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { Name = "Keep it" }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await page.ClickAsync("[data-testid=forwarder-delete]");
        await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync();

        await Assertions.Expect(rows).ToHaveCountAsync(0);
        Assert.Equal(0, (await fixture.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/forwarders")).Body.GetArrayLength());
    }

    /// <summary>
    /// An admin helps an owner whose mail is on the child, from the account's page on the parent: finds one of 26
    /// mailboxes by searching (the list pages on the server, 25 at a time), raises its quota, and turns a forwarder off
    /// without deleting it; the page says why it is off, and the child holds the changes.
    /// </summary>
    [Fact]
    public async Task AnAdmin_ManagesAnOwnersMailboxesAndForwarders_FromTheAccountPage_WithTheMailOnTheChild()
    {
        var name = "adm" + Guid.NewGuid().ToString("N")[..6];
        var domain = $"{name}.example.test";
        (await fixture.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}", mailRouting = new { kind = "Node", nodeId = fixture.ChildId } }))
            .Expect(HttpStatusCode.Created);
        foreach (var i in Enumerable.Range(0, 26))
        {
            (await fixture.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = $"u{i:D2}", password = "mailbox-Kq7vZp3xWm9t", quotaMegabytes = 10 }))
                .Expect(HttpStatusCode.Created);
        }

        (await fixture.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination = "someone@example.org" })).Expect(HttpStatusCode.Created);
        var page = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(page).SignInAsync(PortalNode.AdminUserName, fixture.Parent.AdminPassword);
        await page.GotoInteractiveAsync($"/admin/accounts/{name}");

        var mail = page.Locator("[data-testid=mail-section]");
        await Assertions.Expect(mail).ToContainTextAsync("Mail (on mail-1)");
        var addresses = mail.Locator("[data-testid=email-address]");
        await Assertions.Expect(addresses).ToHaveCountAsync(25);
        await mail.Locator("input[data-testid=email-search]").FillAsync("u25");
        await Assertions.Expect(addresses).ToHaveTextAsync([$"u25@{domain}"]);

        await mail.Locator("[data-testid=email-change-quota]").ClickAsync();
        await page.Locator("input[data-testid=quota-megabytes]").FillAsync("50");
        await page.ClickAsync("[data-testid=quota-submit]");
        await Assertions.Expect(mail.Locator("[data-testid=email-quota-value]")).ToHaveTextAsync(["50 MiB"]);
        var onChild = (await fixture.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Body.EnumerateArray().Single(a => a.GetProperty("address").GetString() == $"u25@{domain}");
        Assert.Equal(50L * 1024 * 1024, onChild.GetProperty("quotaBytes").GetInt64());

        // The autoresponder and a filter, set from the same row, land on the child.
        await mail.Locator("[data-testid=email-sieve]").ClickAsync();
        var dialog = page.Locator(".mud-dialog");
        await dialog.Locator("input[type=checkbox]").First.CheckAsync();
        await dialog.Locator("textarea[data-testid=vacation-body]").FillAsync("Back on Monday.");
        await dialog.Locator("[data-testid=sieve-add-filter]").ClickAsync();
        await dialog.Locator("input[data-testid=sieve-filter-value]").FillAsync("newsletter");
        await dialog.Locator("input[data-testid=sieve-filter-target]").FillAsync("News");
        await dialog.Locator("[data-testid=sieve-submit]").ClickAsync();
        await Assertions.Expect(dialog).ToHaveCountAsync(0);
        var sieve = (await fixture.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses/u25@{domain}/sieve")).Expect(HttpStatusCode.OK).Body;
        Assert.True(sieve.GetProperty("vacation").GetProperty("enabled").GetBoolean());
        Assert.Equal("News", sieve.GetProperty("filters")[0].GetProperty("target").GetString());

        await mail.GetByRole(AriaRole.Tab, new() { Name = "Forwarders" }).ClickAsync();
        await mail.Locator("[data-testid=forwarder-edit]").ClickAsync();
        await page.Locator(".mud-dialog input[type=checkbox]").UncheckAsync();
        await page.ClickAsync("[data-testid=forwarder-edit-submit]");

        await Assertions.Expect(mail.Locator("[data-testid=forwarder-off-reason]")).ToHaveTextAsync("Off: turned off here. Turn it on to forward again.");
        var forwarder = (await fixture.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/forwarders")).Body.EnumerateArray().Single();
        Assert.False(forwarder.GetProperty("enabled").GetBoolean());
    }
}
