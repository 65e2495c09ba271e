using System.Net;
using Microsoft.Playwright;
using Portal.E2E.Pages;
using Portal.E2E.Support;
using Portal.Tests.Support;

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
}
