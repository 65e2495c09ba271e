using Microsoft.EntityFrameworkCore;

namespace Portal.E2E.Tests;

/// <summary>A user changes their own password in the browser: the strength shows as they type, and the node's rule judges.</summary>
[Collection(BrowserCollection.Name)]
public sealed class PasswordTests(BrowserFixture fixture)
{
    private const string Strong = "quiet-Lantern-Orbit-5521";

    [Fact]
    public async Task AWeakPassword_IsMeasuredAsTyped_AndRefusedNamingTheNode_AStrongOneIsTaken()
    {
        var (name, password) = await CreateUserAsync();
        var page = await fixture.NewPageAsync();
        await new SignInPage(page).SignInAsync(name, password);
        await page.GotoInteractiveAsync("/account/password");

        await page.Locator("[data-testid=current-password]").FillAsync(password);
        await page.Locator("[data-testid=new-password]").FillAsync("Password123!");
        await page.Locator("[data-testid=confirm-password]").FillAsync("Password123!");
        await Assertions.Expect(page.Locator("[data-testid=new-password-rule]")).ToContainTextAsync($"node {fixture.Node.Name} requires at least 50");
        await Assertions.Expect(page.Locator("[data-testid=new-password-rule]")).ToContainTextAsync("a common word, name or password");
        await page.ClickAsync("[data-testid=change-password]");
        await Assertions.Expect(page.Locator("[data-testid=password-errors]")).ToContainTextAsync($"too weak for the rule of node {fixture.Node.Name}");

        await page.Locator("[data-testid=new-password]").FillAsync(Strong);
        await page.Locator("[data-testid=confirm-password]").FillAsync(Strong);
        await page.ClickAsync("[data-testid=change-password]");
        await Assertions.Expect(page.GetByText("Your password is changed.")).ToBeVisibleAsync();

        var again = await fixture.NewPageAsync();
        await new SignInPage(again).SignInAsync(name, Strong);
        Assert.StartsWith("/account", new Uri(again.Url).AbsolutePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APasswordPastTheNodesAge_TakesTheUserToThePasswordPage_UntilTheyChangeIt()
    {
        var (name, password) = await CreateUserAsync();
        await using (var db = TestDatabases.OpenContext(fixture.Node.ConnectionString))
        {
            await db.Users.Where(u => u.UserName == name).ExecuteUpdateAsync(u => u.SetProperty(x => x.PasswordChangedAt, DateTimeOffset.UtcNow.AddDays(-100)));
        }

        (await fixture.Node.Api.PutAsync("api/v1/password-policy", new { maxPasswordAgeDays = 90 })).Expect(HttpStatusCode.OK);
        try
        {
            var page = await fixture.NewPageAsync();
            await new SignInPage(page).SignInAsync(name, password);
            await page.GotoInteractiveAsync("/account/api-tokens");

            Assert.Equal("/account/password", new Uri(page.Url).AbsolutePath);
            await Assertions.Expect(page.Locator("[data-testid=password-expired]")).ToContainTextAsync("older than this node allows (90 days)");
            await page.Locator("[data-testid=current-password]").FillAsync(password);
            await page.Locator("[data-testid=new-password]").FillAsync(Strong);
            await page.Locator("[data-testid=confirm-password]").FillAsync(Strong);
            await page.ClickAsync("[data-testid=change-password]");
            await page.WaitForAddressAsync(url => new Uri(url).AbsolutePath == "/account");
            await page.GotoInteractiveAsync("/account/api-tokens");
            Assert.Equal("/account/api-tokens", new Uri(page.Url).AbsolutePath);
        }
        finally
        {
            (await fixture.Node.Api.PutAsync("api/v1/password-policy", new { maxPasswordAgeDays = 0 })).Expect(HttpStatusCode.OK);
        }
    }

    private async Task<(string Name, string Password)> CreateUserAsync()
    {
        var name = "pw" + Guid.NewGuid().ToString("N")[..8];
        var password = "first-Kq7vZp3xWm9t";
        (await fixture.Node.Api.PostAsync("api/v1/users", new { userName = name, role = "User", password })).Expect(HttpStatusCode.Created);
        return (name, password);
    }
}
