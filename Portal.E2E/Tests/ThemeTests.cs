namespace Portal.E2E.Tests;

[Collection(BrowserCollection.Name)]
public sealed class ThemeTests(BrowserFixture fixture)
{
    [Fact]
    public async Task ChosenTheme_IsRemembered_InAnotherBrowser()
    {
        var page = await fixture.NewPageAsync();
        await new SignInPage(page).SignInAsync(PortalNode.AdminUserName, fixture.Node.AdminPassword);
        await page.GotoInteractiveAsync("/admin");

        try
        {
            await ChooseAsync(page, "high-contrast");
            await Assertions.Expect(page.Locator("body")).ToHaveCSSAsync("background-color", "rgb(0, 0, 0)");

            var elsewhere = await fixture.NewPageAsync();
            await new SignInPage(elsewhere).SignInAsync(PortalNode.AdminUserName, fixture.Node.AdminPassword);
            await Assertions.Expect(elsewhere.Locator("body")).ToHaveCSSAsync("background-color", "rgb(0, 0, 0)");
        }
        finally
        {
            await ChooseAsync(page, "light");
        }

        await Assertions.Expect(page.Locator("body")).ToHaveCSSAsync("background-color", "rgb(245, 247, 250)");
    }

    [Fact]
    public async Task TheKeyboardFocus_IsASolidRing_InTheThemesColour()
    {
        var page = await fixture.NewPageAsync();
        await new SignInPage(page).SignInAsync(PortalNode.AdminUserName, fixture.Node.AdminPassword);
        await page.GotoInteractiveAsync("/admin");

        // From the keyboard, onto the first control (it was a faint tint).
        await page.Keyboard.PressAsync("Tab");
        var ring = await page.EvaluateAsync<string[]>("() => { const s = getComputedStyle(document.activeElement); return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }");

        Assert.Contains(ring[0], new[] { "A", "BUTTON" });
        Assert.Equal(["solid", "3px"], ring[1..]);
    }

    private static async Task ChooseAsync(IPage page, string themeId)
    {
        await page.Locator("[data-testid=theme-menu] button").ClickAsync();
        await page.Locator($"[data-testid=theme-{themeId}]").ClickAsync();
    }
}
