using System.Globalization;

namespace Portal.E2E.Tests;

[Collection(AccountsBrowserCollection.Name)]
public sealed class MoveMailTests(AccountsBrowserFixture fixture)
{
    [Fact]
    public async Task AnAdmin_MovesAnAccountsMail_AndWatchesTheProgressToDone()
    {
        var (name, domain) = await AccountWithMailAsync("move", 5, 1500);

        var page = await AdminPageAsync($"/admin/accounts/{name}");
        await page.EvaluateAsync("window.__sameDocument = true");
        var unread = int.Parse((await page.Locator("[data-testid=notifications-unread]").GetAttributeAsync("data-unread"))!, CultureInfo.InvariantCulture);
        await page.Locator("[data-testid=move-target]").ClickAsync();
        await page.GetByRole(AriaRole.Option).Filter(new() { HasText = "mail-1" }).ClickAsync();
        await page.ClickAsync("[data-testid=move-start]");
        // Nothing starts before the admin confirms.
        await Assertions.Expect(page.GetByText($"Move the mail of {name} to mail-1?")).ToBeVisibleAsync();
        Assert.DoesNotContain("/admin/operations/", page.Url, StringComparison.Ordinal);
        await page.GetByRole(AriaRole.Button, new() { Name = "Move the mail" }).ClickAsync();
        await page.WaitForAddressAsync(url => url.Contains("/admin/operations/", StringComparison.Ordinal));

        var (state, seen) = await WatchProgressAsync(page);

        Assert.Equal("Succeeded", state);
        Assert.Equal(100, seen[^1]);
        Assert.True(seen.Count(p => p is > 0 and < 100) >= 3, $"expected the bar to move, saw {string.Join(", ", seen.Distinct())}");
        Assert.True(await page.EvaluateAsync<bool>("window.__sameDocument === true"), "the page was reloaded");
        await Assertions.Expect(page.Locator("[data-step-state=Done]")).ToHaveCountAsync(8);
        await Assertions.Expect(page.Locator("[data-testid=operation-summary]")).ToContainTextAsync("now lives on mail-1");
        // The move's notification raises the badge live. Other notices may arrive meanwhile (a child that answered
        // late under load is reported offline and back), so the count is at least one more, not exactly one.
        await page.WaitForFunctionAsync(
            "n => Number(document.querySelector('[data-testid=notifications-unread]').getAttribute('data-unread')) > n", unread);
    }

    [Fact]
    public async Task AnAdmin_BringsTheMailBack_WatchesTheProgress_AndSeesTheScheduledDeletion()
    {
        var (name, domain) = await AccountWithMailAsync("back", 6, 1500);
        await MoveToTheChildAsync(name);

        var page = await AdminPageAsync($"/admin/accounts/{name}");
        await Assertions.Expect(page.Locator("[data-testid=mail-served-by]")).ToContainTextAsync("mail-1");
        await page.EvaluateAsync("window.__sameDocument = true");
        await page.ClickAsync("[data-testid=dedistribute-start]");
        await page.GetByRole(AriaRole.Button, new() { Name = "Bring it back" }).ClickAsync();
        await page.WaitForAddressAsync(url => url.Contains("/admin/operations/", StringComparison.Ordinal));
        var (state, seen) = await WatchProgressAsync(page);

        Assert.Equal("Succeeded", state);
        Assert.Equal(100, seen[^1]);
        Assert.True(seen.Count(p => p is > 0 and < 100) >= 3, $"expected the bar to move, saw {string.Join(", ", seen.Distinct())}");
        Assert.True(await page.EvaluateAsync<bool>("window.__sameDocument === true"), "the page was reloaded");
        await Assertions.Expect(page.Locator("[data-testid=operation-summary]")).ToContainTextAsync("is back on this node");

        await page.GotoInteractiveAsync("/admin/scheduled-deletions");
        var row = page.Locator("tr", new() { Has = page.Locator("[data-testid=deletion-account]", new() { HasText = name }) });
        await Assertions.Expect(row.Locator("[data-testid=deletion-state]")).ToHaveAttributeAsync("data-state", "Scheduled");
        await Assertions.Expect(row.Locator("[data-testid=deletion-left]")).ToContainTextAsync("in 6 d");
        await row.Locator("[data-testid=deletion-cancel]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=deletion-account]", new() { HasText = name })).ToHaveCountAsync(0);
    }

    /// <summary>Reads the operation page's progress bar as it changes, until the operation ends.</summary>
    private static async Task<(string? State, List<double> Seen)> WatchProgressAsync(IPage page)
    {
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

        return (state, seen);
    }

    /// <summary>A new account of the parent's with one mailbox, alice, holding <paramref name="messages"/> messages.</summary>
    private async Task<(string Name, string Domain)> AccountWithMailAsync(string prefix, int seed, int messages)
    {
        var name = prefix + Guid.NewGuid().ToString("N")[..6];
        var domain = $"{name}.example.test";
        (await fixture.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
        (await fixture.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
        new MailGenerator(seed).Fill(Path.Combine(fixture.Parent.MailRoot, domain, "alice"), messages);
        return (name, domain);
    }

    /// <summary>Moves the account's mail to mail-1 through the API and waits until the move has succeeded.</summary>
    private async Task MoveToTheChildAsync(string name)
    {
        var moved = (await fixture.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = fixture.ChildId })).Expect(HttpStatusCode.Accepted);
        await WaitSucceededAsync(moved.Body.GetProperty("operationId").GetString()!);
    }

    /// <summary>A browser page of the parent's, signed in as its admin, open at <paramref name="path"/>.</summary>
    private async Task<IPage> AdminPageAsync(string path)
    {
        var page = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(page).SignInAsync(PortalNode.AdminUserName, fixture.Parent.AdminPassword);
        await page.GotoInteractiveAsync(path);
        return page;
    }

    private async Task WaitSucceededAsync(string operationId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            var state = (await fixture.Parent.Api.GetAsync($"api/v1/operations/{operationId}")).Body.GetProperty("state").GetString();
            if (state is "Succeeded" or "Failed")
            {
                Assert.Equal("Succeeded", state);
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"Operation {operationId} did not finish.");
    }

    [Fact]
    public async Task AnOwnerWhoseMailIsOnTheChild_IsSentToWebmailOnTheirDomain()
    {
        var name = "web" + Guid.NewGuid().ToString("N")[..6];
        var domain = $"{name}.example.test";
        const string password = "owner-Kq7vZp3xWm9t";
        (await fixture.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}", password, mailRouting = new { kind = "Node", nodeId = fixture.ChildId } }))
            .Expect(HttpStatusCode.Created);
        var page = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(page).SignInAsync(name, password);
        await page.GotoInteractiveAsync("/account");
        await Assertions.Expect(page.Locator("[data-testid=mail-location]")).ToContainTextAsync($"https://webmail.{domain}/");

        // The webmail host is the child's by DNS, which this machine does not have: the browser gets as far as asking for it.
        var webmail = page.WaitForRequestAsync(request => request.Url.StartsWith("https://webmail.", StringComparison.Ordinal));
        try
        {
            await page.GotoAsync("/webmail");
        }
        catch (PlaywrightException ex) when (ex.Message.Contains("ERR_NAME_NOT_RESOLVED", StringComparison.Ordinal))
        {
        }

        Assert.Equal($"https://webmail.{domain}/", (await webmail).Url);
    }

    [Fact]
    public async Task AnAdmin_ForcingADedistribution_SeesWhatIsLost_AndMustTypeTheName()
    {
        var (name, domain) = await AccountWithMailAsync("frc", 8, 40);
        await MoveToTheChildAsync(name);

        var page = await AdminPageAsync("/admin/linked-nodes");
        await page.Locator("[data-testid=linked-nodes] tr").Filter(new() { HasText = "mail-1" }).Locator("[data-testid=force-dedistribute]").ClickAsync();
        var dialog = page.Locator("[data-testid=force-dedistribute-dialog]");
        await Assertions.Expect(dialog).ToContainTextAsync("is lost");
        var row = page.Locator($"tr[data-account={name}]");
        await Assertions.Expect(row.Locator("[data-testid=force-lost]")).ToContainTextAsync("40 message(s)");
        await row.Locator("input[type=checkbox]").CheckAsync();

        await page.Locator("[data-testid=force-confirm]").FillAsync("something-else");
        await page.Locator("[data-testid=force-submit]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=force-problems]")).ToContainTextAsync($"missing: {name}");

        await page.Locator("[data-testid=force-confirm]").FillAsync(name);
        await page.Locator("[data-testid=force-submit]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=force-submit]")).ToHaveCountAsync(0);
        var account = (await fixture.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body;
        Assert.Equal(System.Text.Json.JsonValueKind.Null, account.GetProperty("mailNodeId").ValueKind);
    }

    [Fact]
    public async Task AnAdmin_TerminatesADistributedAccount_TypingItsName_AndWatchesItGoOnBothNodes()
    {
        var (name, domain) = await AccountWithMailAsync("trm", 9, 20);
        await MoveToTheChildAsync(name);

        var page = await AdminPageAsync($"/admin/accounts/{name}");
        await page.ClickAsync("[data-testid=terminate-start]");
        var dialog = page.Locator("[data-testid=terminate-dialog]");
        await Assertions.Expect(dialog.Locator("[data-testid=terminate-what-goes]")).ToContainTextAsync("its copy on mail-1");
        await Assertions.Expect(page.Locator("[data-testid=terminate-submit]")).ToBeDisabledAsync();
        await page.Locator("[data-testid=terminate-confirm]").FillAsync(name[..^1]);
        await Assertions.Expect(page.Locator("[data-testid=terminate-submit]")).ToBeDisabledAsync();
        await page.Locator("[data-testid=terminate-confirm]").FillAsync(name);
        await page.Locator("[data-testid=terminate-submit]").ClickAsync();
        await page.WaitForAddressAsync(url => url.Contains("/admin/operations/", StringComparison.Ordinal));

        await Assertions.Expect(page.Locator("[data-testid=operation-summary]")).ToContainTextAsync($"Account {name} ({domain}) is terminated.", new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-step-state=Done]")).ToHaveCountAsync(3);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.Child.Api.GetAsync($"api/v1/accounts/{name}")).Status);
    }

    [Fact]
    public async Task AnAdmin_CancelsAPausedMove_AndSeesItUndone()
    {
        var (name, domain) = await AccountWithMailAsync("cnc", 11, 300);
        var id = (await fixture.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = fixture.ChildId })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
        // Paused before its copy's first batch (the pause is asked for before the job gets there).
        (await fixture.Parent.Api.PostAsync($"api/v1/operations/{id}/pause")).Expect(HttpStatusCode.NoContent);

        var page = await AdminPageAsync($"/admin/operations/{id}");
        await page.ClickAsync("[data-testid=operation-cancel]");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel it" }).ClickAsync();

        await Assertions.Expect(page.Locator("[data-testid=operation-summary]")).ToContainTextAsync("cancelled by an admin before the switch", new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-testid=operation-cancel]")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("[data-testid=operation-retry]")).ToHaveCountAsync(0);
        var account = (await fixture.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body;
        Assert.Equal(System.Text.Json.JsonValueKind.Null, account.GetProperty("mailNodeId").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.Child.Api.GetAsync($"api/v1/accounts/{name}")).Status);
    }

    [Fact]
    public async Task AnAdmin_MovesTheMailOfTheFilteredAccounts_AsOneOperation()
    {
        var prefix = "blk" + Guid.NewGuid().ToString("N")[..5];
        foreach (var i in Enumerable.Range(0, 2))
        {
            var name = $"{prefix}{i}";
            (await fixture.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain = $"{name}.example.test", contactEmail = $"o@{name}.example.test" })).Expect(HttpStatusCode.Created);
            (await fixture.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
            new MailGenerator(20 + i).Fill(Path.Combine(fixture.Parent.MailRoot, $"{name}.example.test", "alice"), 30);
        }

        var page = await AdminPageAsync("/admin/accounts");
        await page.Locator("[data-testid=filter-username]").FillAsync(prefix);
        await Assertions.Expect(page.Locator("[data-testid=account-link]")).ToHaveCountAsync(2);
        await page.ClickAsync("[data-testid=bulk-move]");
        await Assertions.Expect(page.Locator("[data-testid=bulk-move-count]")).ToContainTextAsync("2 account(s) match");
        await page.Locator("[data-testid=bulk-move-target]").ClickAsync();
        await page.GetByRole(AriaRole.Option).Filter(new() { HasText = "mail-1" }).ClickAsync();
        await page.ClickAsync("[data-testid=bulk-move-submit]");
        await page.WaitForAddressAsync(url => url.Contains("/admin/operations/", StringComparison.Ordinal));

        await Assertions.Expect(page.Locator("[data-testid=operation-summary]")).ToContainTextAsync("The mail of all 2 account(s) moved.", new() { Timeout = 60_000 });
        foreach (var i in Enumerable.Range(0, 2))
        {
            Assert.Equal("mail-1", (await fixture.Parent.Api.GetAsync($"api/v1/accounts/{prefix}{i}")).Body.GetProperty("mailNodeAlias").GetString());
        }
    }
}
