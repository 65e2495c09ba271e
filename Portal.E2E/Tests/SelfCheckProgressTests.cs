using System.Globalization;

namespace Portal.E2E.Tests;

[Collection(BrowserCollection.Name)]
public sealed class SelfCheckProgressTests(BrowserFixture fixture)
{
    [Fact]
    public async Task SelfCheck_ProgressBarAdvancesLive_WithoutAReload()
    {
        var page = await fixture.NewPageAsync();
        await new SignInPage(page).SignInAsync(PortalNode.AdminUserName, fixture.Node.AdminPassword);
        await page.GotoInteractiveAsync("/admin/operations");
        // Set after the last full page load: a reload would wipe it.
        await page.EvaluateAsync("window.__sameDocument = true");

        await page.ClickAsync("[data-testid=start-self-check]");
        await page.WaitForAddressAsync(url => url.Contains("/admin/operations/", StringComparison.Ordinal));
        var progress = page.Locator("[data-testid=operation-progress]");
        await progress.WaitForAsync();

        var seen = new List<double>();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        string? state = null;
        while (DateTime.UtcNow < deadline)
        {
            state = await progress.GetAttributeAsync("data-state");
            seen.Add(double.Parse((await progress.GetAttributeAsync("data-percent"))!, CultureInfo.InvariantCulture));
            if (state is "Succeeded" or "Failed")
            {
                break;
            }

            await Task.Delay(40);
        }

        Assert.Equal("Succeeded", state);
        Assert.Equal(100, seen[^1]);
        Assert.Contains(seen, p => p is > 0 and < 100);
        Assert.True(seen.Distinct().Count() >= 3, $"expected the bar to move through several values, saw {string.Join(", ", seen.Distinct())}");
        Assert.True(await page.EvaluateAsync<bool>("window.__sameDocument === true"), "the page was reloaded");
        await Assertions.Expect(page.Locator("[data-step-state=Done]")).ToHaveCountAsync(3);
        await Assertions.Expect(page.Locator("[data-testid=operation-results]")).ToContainTextAsync("disk.freeBytes");

        // A reload shows the same finished state, read back from the database.
        await page.ReloadAsync();
        await Assertions.Expect(progress).ToHaveAttributeAsync("data-state", "Succeeded");
        await Assertions.Expect(progress).ToHaveAttributeAsync("data-percent", "100");
    }
}
