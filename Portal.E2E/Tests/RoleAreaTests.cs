namespace Portal.E2E.Tests;

[Collection(BrowserCollection.Name)]
public sealed class RoleAreaTests(BrowserFixture fixture)
{
    private static readonly (string Area, string Nav)[] Areas = [("/admin", "nav-admin"), ("/reseller", "nav-reseller"), ("/account", "nav-account")];

    [Fact]
    public async Task EachRole_SignsIn_AndSeesOnlyItsOwnArea()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var reseller = ("res" + suffix, "Reseller", "reseller-Kq7vZp3x-" + suffix);
        var user = ("usr" + suffix, "User", "user-Kq7vZp3x-" + suffix + suffix);

        var admin = await fixture.NewPageAsync();
        await new SignInPage(admin).SignInAsync(PortalNode.AdminUserName, fixture.Node.AdminPassword);
        await new UsersPage(admin).CreateAsync(reseller.Item1, reseller.Item2, reseller.Item3);
        await new UsersPage(admin).CreateAsync(user.Item1, user.Item2, user.Item3);
        await AssertOnlyOwnAreaAsync(admin, "/admin");

        var resellerPage = await fixture.NewPageAsync();
        await new SignInPage(resellerPage).SignInAsync(reseller.Item1, reseller.Item3);
        await AssertOnlyOwnAreaAsync(resellerPage, "/reseller");

        var userPage = await fixture.NewPageAsync();
        await new SignInPage(userPage).SignInAsync(user.Item1, user.Item3);
        await AssertOnlyOwnAreaAsync(userPage, "/account");
    }

    [Fact]
    public async Task AnAdmin_EditsAReseller_ViewsThePanelAsThem_MarkedOnEveryPage_AndReturns()
    {
        var name = "va" + Guid.NewGuid().ToString("N")[..8];
        var admin = await fixture.NewPageAsync();
        await new SignInPage(admin).SignInAsync(PortalNode.AdminUserName, fixture.Node.AdminPassword);
        await new UsersPage(admin).CreateAsync(name, "Reseller", "reseller-Kq7vZp3x-" + name);
        await admin.GetByPlaceholder("Search name or email").FillAsync(name);
        var row = admin.Locator("[data-testid=users-table] tbody tr").Filter(new() { HasText = name });
        await Assertions.Expect(admin.Locator("[data-testid=users-table] tbody tr")).ToHaveCountAsync(1);

        await row.Locator("[data-testid=user-actions] button").ClickAsync();
        await admin.ClickAsync("[data-testid=edit-user-start]");
        await admin.Locator("[data-testid=edit-user-email]").FillAsync(name + "@example.com");
        await admin.ClickAsync("[data-testid=edit-user-save]");
        await Assertions.Expect(row).ToContainTextAsync(name + "@example.com");

        await row.Locator("[data-testid=user-actions] button").ClickAsync();
        await admin.ClickAsync("[data-testid=view-as-start]");
        await admin.ClickAsync("[data-testid=view-as-confirm]");
        await admin.WaitForAddressAsync(url => new Uri(url).AbsolutePath == "/reseller");
        await Assertions.Expect(admin.Locator("[data-testid=view-as-banner]")).ToContainTextAsync($"You are viewing the panel as {name}, signed in as {PortalNode.AdminUserName}");
        await Assertions.Expect(admin.Locator("[data-testid=signed-in-user]")).ToHaveTextAsync($"{PortalNode.AdminUserName} as {name}");
        await admin.GotoInteractiveAsync("/reseller/accounts");
        await Assertions.Expect(admin.Locator("[data-testid=view-as-banner]")).ToBeVisibleAsync();

        await admin.ClickAsync("[data-testid=view-as-end]");
        await admin.WaitForAddressAsync(url => new Uri(url).AbsolutePath == "/admin/users");
        await Assertions.Expect(admin.Locator("[data-testid=view-as-notice]")).ToContainTextAsync("You are back in your own session");
        Assert.Equal(0, await admin.Locator("[data-testid=view-as-banner]").CountAsync());
    }

    private static async Task AssertOnlyOwnAreaAsync(IPage page, string ownArea)
    {
        await page.GotoInteractiveAsync("/");
        Assert.Equal(ownArea, new Uri(page.Url).AbsolutePath);
        var ownNav = Areas.Single(a => a.Area == ownArea).Nav;
        await Assertions.Expect(page.Locator($"[data-testid={ownNav}]")).ToBeVisibleAsync();

        // The bell opens the notifications (its badge counted up and a click opened nothing).
        await page.ClickAsync("[data-testid=notifications] button");
        await Assertions.Expect(page.Locator("[data-testid=notification], [data-testid=notifications-none]").First).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Escape");

        if (ownArea != "/admin")
        {
            // The job dashboard answers with the panel's own page, not the browser's bare "HTTP ERROR 403".
            var jobs = await page.GotoAsync("/hangfire");
            Assert.Equal(403, jobs!.Status);
            await Assertions.Expect(page.Locator("[data-testid=error-title]")).ToHaveTextAsync("Not allowed");
        }

        foreach (var (area, nav) in Areas.Where(a => a.Area != ownArea))
        {
            Assert.Equal(0, await page.Locator($"[data-testid={nav}]").CountAsync());
            Assert.Equal(0, await page.Locator($"[data-testid={ownNav}] a[href^='{area}']").CountAsync());

            var response = await page.GotoAsync(area);
            Assert.Equal(403, response!.Status);
            await Assertions.Expect(page.Locator("[data-testid=error-title]")).ToHaveTextAsync("Not allowed");
        }
    }
}
