using Deque.AxeCore.Playwright;

namespace Portal.E2E.Tests;

/// <summary>
/// axe-core (Deque's own .NET binding, which carries axe-core's released script) on every page of each area, in each
/// theme: no serious or critical violation. (The dark theme's white text on light blue measured 2.42:1.)
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class AccessibilityTests(BrowserFixture fixture)
{
    private static readonly string[] Themes = ["light", "dark", "high-contrast"];

    [Fact]
    public async Task EveryPageOfEachArea_InEachTheme_HasNoSeriousOrCriticalViolation()
    {
        var reseller = await AreaPages.NewResellerAsync(fixture.Node);
        var owner = await AreaPages.NewOwnerAsync(fixture.Node);
        await AreaPages.NewPackageAsync(fixture.Node);
        var areas = new (string User, string Password, string[] Pages)[]
        {
            (PortalNode.AdminUserName, fixture.Node.AdminPassword, [.. AreaPages.Admin, $"/admin/accounts/{owner.User}"]),
            (reseller.User, reseller.Password, AreaPages.Reseller),
            (owner.User, owner.Password, AreaPages.Owner),
        };

        var violations = new List<string>();
        foreach (var (user, password, pages) in areas)
        {
            var page = await fixture.NewPageAsync();
            await new SignInPage(page).SignInAsync(user, password);
            foreach (var theme in Themes)
            {
                await page.GotoInteractiveAsync(pages[0]);
                await page.ClickAsync("[data-testid=theme-menu] button");
                await page.ClickAsync($"[data-testid=theme-{theme}]");
                foreach (var path in pages)
                {
                    await page.GotoInteractiveAsync(path);
                    await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
                    var result = await page.RunAxe();
                    violations.AddRange(result.Violations
                        .Where(v => v.Impact is "serious" or "critical")
                        .Select(v => $"{path} ({theme}): {v.Id} ({v.Impact}) {v.Help}: {string.Join(" | ", v.Nodes.Take(3).Select(n => n.Html))}"));
                }
            }

            // Back to the default, for the other tests that sign in as the same admin.
            await page.ClickAsync("[data-testid=theme-menu] button");
            await page.ClickAsync("[data-testid=theme-light]");
            await page.Context.CloseAsync();
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }
}
