using System.Globalization;
using System.Net;
using Microsoft.Playwright;
using Portal.E2E.Pages;
using Portal.E2E.Support;
using Portal.Tests.Support;

namespace Portal.E2E.Tests;

[Collection(AccountsBrowserCollection.Name)]
public sealed class MoveMailTests(AccountsBrowserFixture fixture)
{
    [Fact]
    public async Task AnAdmin_MovesAnAccountsMail_AndWatchesTheProgressToDone()
    {
        var name = "move" + Guid.NewGuid().ToString("N")[..6];
        var domain = $"{name}.example.test";
        (await fixture.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
        (await fixture.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "alice", password = "alice-password-1" })).Expect(HttpStatusCode.Created);
        new MailGenerator(5).Fill(Path.Combine(fixture.Parent.MailRoot, domain, "alice"), 1500);

        var page = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(page).SignInAsync(PortalNode.AdminUserName, fixture.Parent.AdminPassword);
        await page.GotoInteractiveAsync($"/admin/accounts/{name}");
        await page.EvaluateAsync("window.__sameDocument = true");
        await page.Locator("[data-testid=move-target]").ClickAsync();
        await page.GetByRole(AriaRole.Option).Filter(new() { HasText = "mail-1" }).ClickAsync();
        await page.ClickAsync("[data-testid=move-start]");
        await page.WaitForURLAsync(url => url.Contains("/admin/operations/", StringComparison.Ordinal));

        var progress = page.Locator("[data-testid=operation-progress]");
        var seen = new List<double>();
        string? state = null;
        var deadline = DateTime.UtcNow.AddSeconds(120);
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
        Assert.True(seen.Count(p => p is > 0 and < 100) >= 3, $"expected the bar to move, saw {string.Join(", ", seen.Distinct())}");
        Assert.True(await page.EvaluateAsync<bool>("window.__sameDocument === true"), "the page was reloaded");
        await Assertions.Expect(page.Locator("[data-step-state=Done]")).ToHaveCountAsync(8);
        await Assertions.Expect(page.Locator("[data-testid=operation-summary]")).ToContainTextAsync("now lives on mail-1");
        await Assertions.Expect(page.Locator("[data-testid=notifications-unread]")).ToHaveAttributeAsync("data-unread", "1");
    }
}
