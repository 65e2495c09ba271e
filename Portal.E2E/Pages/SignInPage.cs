namespace Portal.E2E.Pages;

public sealed class SignInPage(IPage page)
{
    /// <summary>
    /// Signs in through the form and waits for the page it leads to. A failure says whether the form was never sent,
    /// or what the node answered and where the browser stayed, with what the page shows (its error message).
    /// </summary>
    public async Task SignInAsync(string userName, string password)
    {
        await page.GotoAsync("/auth/signin");
        await page.FillAsync("#username", userName);
        await page.FillAsync("#password", password);
        IResponse answer;
        try
        {
            answer = await page.RunAndWaitForResponseAsync(
                () => page.ClickAsync("button[type=submit]"),
                response => response.Request.Method == "POST" && response.Url.Contains("/auth/signin", StringComparison.Ordinal));
        }
        catch (TimeoutException ex)
        {
            throw new InvalidOperationException($"Signing in as {userName}: the form was not sent (the page shows: {await ShownAsync()}).", ex);
        }

        try
        {
            await page.WaitForAddressAsync(url => !url.Contains("/auth/signin", StringComparison.Ordinal));
        }
        catch (TimeoutException ex)
        {
            throw new InvalidOperationException(
                $"Signing in as {userName}: the node answered {answer.Status} and the browser stayed at {page.Url} (the page shows: {await ShownAsync()}).", ex);
        }

        await page.WaitInteractiveAsync();
    }

    private async Task<string> ShownAsync()
    {
        var text = await page.Locator("body").InnerTextAsync(new() { Timeout = 5_000 });
        return text.Length <= 600 ? text : text[..600] + "...";
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

    /// <summary>
    /// Waits until the page's address is one <paramref name="wanted"/> takes, however the browser got there (a load,
    /// a redirect, Blazor's own navigation). Unlike <c>WaitForURLAsync</c> it does not also wait for the page's "load"
    /// event: Playwright for .NET can miss that event when it fires just after the navigation is seen (it checks the
    /// states it has, then subscribes), and then waits out its whole timeout on a page that is long loaded. What a
    /// test needs next is waited for through the page's elements instead.
    /// </summary>
    public static async Task WaitForAddressAsync(this IPage page, Func<string, bool> wanted, float timeoutMs = 20_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!wanted(page.Url))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The browser stayed at {page.Url} for {timeoutMs / 1000:0} s.");
            }

            await Task.Delay(50);
        }
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
