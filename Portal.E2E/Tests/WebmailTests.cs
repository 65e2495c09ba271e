using System.Text;

namespace Portal.E2E.Tests;

/// <summary>An owner reads their mail on the web where it is served: Roundcube on the child, reached from the parent's panel.</summary>
[Collection(WebmailBrowserCollection.Name)]
public sealed class WebmailTests(WebmailBrowserFixture fixture)
{
    [Fact]
    public async Task AnOwnerOfADistributedAccount_FollowsTheWebmailLink_SignsInToRoundcubeOnTheChild_AndReadsTheirMessage()
    {
        var name = "rc" + Guid.NewGuid().ToString("N")[..6];
        var domain = $"{name}.example.test";
        const string ownerPassword = "owner-Kq7vZp3xWm9t";
        const string mailboxPassword = "alice-Kq7vZp3xWm9t";
        var address = $"alice@{domain}";
        (await fixture.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}", password = ownerPassword })).Expect(HttpStatusCode.Created);
        (await fixture.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "alice", password = mailboxPassword })).Expect(HttpStatusCode.Created);
        // A message that reached the mailbox at the parent, before the mail moved.
        var inbox = Path.Combine(fixture.Parent.MailRoot, domain, "alice", "new");
        Directory.CreateDirectory(inbox);
        await File.WriteAllTextAsync(Path.Combine(inbox, $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.M1P1.e2e"),
            $"From: Carol <carol@example.org>\r\nTo: {address}\r\nSubject: Lunch on Friday\r\nMessage-ID: <{Guid.NewGuid():N}@example.org>\r\nDate: {DateTimeOffset.UtcNow:R}\r\n\r\nShall we meet at noon by the fountain?\r\n", Encoding.ASCII);
        var moved = (await fixture.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = fixture.ChildId })).Expect(HttpStatusCode.Accepted);
        var end = await fixture.Parent.Api.WaitOperationAsync(moved.Body.GetProperty("operationId").GetString()!, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed", TimeSpan.FromMinutes(2));
        Assert.True(end.GetProperty("state").GetString() == "Succeeded", end.ToString());

        // The owner follows "Open webmail" on the parent's panel: a new tab at webmail.<domain>, which is the child.
        var page = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(page).SignInAsync(name, ownerPassword);
        await page.GotoInteractiveAsync("/account");
        var webmail = await page.Context.RunAndWaitForPageAsync(() => page.Locator("[data-testid=open-webmail]").ClickAsync());
        await webmail.WaitForURLAsync($"https://webmail.{domain}/**");
        await Assertions.Expect(webmail.Locator("#rcmloginuser")).ToBeVisibleAsync();

        // Roundcube's own sign-in, with the mailbox's address and password; the message is in the inbox, and opens.
        await webmail.Locator("#rcmloginuser").FillAsync(address);
        await webmail.Locator("#rcmloginpwd").FillAsync(mailboxPassword);
        await webmail.Locator("#rcmloginsubmit").ClickAsync();
        var row = webmail.Locator("#messagelist tr").Filter(new() { HasText = "Lunch on Friday" });
        await Assertions.Expect(row).ToBeVisibleAsync();
        await row.ClickAsync();
        await Assertions.Expect(webmail.FrameLocator("#messagecontframe").Locator("body")).ToContainTextAsync("Shall we meet at noon by the fountain?");
    }
}
