using Microsoft.Playwright;

namespace Portal.E2E.Pages;

public sealed class SignInPage(IPage page)
{
    public async Task SignInAsync(string userName, string password)
    {
        await page.GotoAsync("/auth/signin");
        await page.FillAsync("#username", userName);
        await page.FillAsync("#password", password);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(url => !url.Contains("/auth/signin", StringComparison.Ordinal));
        await page.WaitInteractiveAsync();
    }
}

public static class PageExtensions
{
    /// <summary>Loads a page and waits until its live connection has taken over (clicks before that do nothing).</summary>
    public static async Task<IResponse?> GotoInteractiveAsync(this IPage page, string url)
    {
        var response = await page.GotoAsync(url);
        await page.WaitInteractiveAsync();
        return response;
    }

    public static Task WaitInteractiveAsync(this IPage page) =>
        page.Locator("[data-testid=render-mode][data-interactive=true]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
}

public sealed class UsersPage(IPage page)
{
    public async Task CreateAsync(string userName, string role, string password)
    {
        await page.GotoInteractiveAsync("/admin/users");
        await page.ClickAsync("[data-testid=create-user]");
        var dialog = page.Locator("[data-testid=create-user-dialog]");
        await dialog.WaitForAsync();
        await page.Locator("[data-testid=new-user-name]").FillAsync(userName);
        await page.Locator("[data-testid=new-user-role]").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = role, Exact = true }).ClickAsync();
        await page.Locator("[data-testid=new-user-password]").FillAsync(password);
        await page.ClickAsync("[data-testid=create-user-submit]");
        await page.Locator("[data-testid=user-created]").Filter(new() { HasText = userName }).WaitForAsync();
    }
}

public sealed class LinkNodesPage(IPage page)
{
    public async Task LinkAsync(string alias, string address, string token, bool expectSuccess = true)
    {
        await page.GotoInteractiveAsync("/admin/linked-nodes");
        await page.ClickAsync("[data-testid=link-node]");
        await page.Locator("[data-testid=link-node-dialog]").WaitForAsync();
        await page.Locator("[data-testid=link-alias]").FillAsync(alias);
        await page.Locator("[data-testid=link-address]").FillAsync(address);
        await page.Locator("[data-testid=link-token]").FillAsync(token);
        // The test nodes speak plain http: there is no certificate to verify.
        await page.Locator("[data-testid=link-verify-tls]").SetCheckedAsync(false, new() { Force = true });
        await page.ClickAsync("[data-testid=link-submit]");
        if (expectSuccess)
        {
            await page.Locator("[data-testid=link-node-dialog]").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        }
    }
}
