namespace Portal.E2E.Tests;

[Collection(LinkBrowserCollection.Name)]
public sealed class LinkNodesTests(LinkBrowserFixture fixture)
{
    [Fact]
    public async Task Admin_LinksAChildThroughTheBrowser_AndSeesItOnline()
    {
        // On the child: its admin sets the Mail profile and creates a node API token, shown once.
        var child = await fixture.NewPageAsync(fixture.Child);
        await new SignInPage(child).SignInAsync(PortalNode.AdminUserName, fixture.Child.AdminPassword);
        await child.GotoInteractiveAsync("/admin/server-profile");
        await child.ClickAsync("[data-testid=use-Mail]");
        await Assertions.Expect(child.Locator("[data-testid=profile-Mail]")).ToContainTextAsync("Current");
        await child.GotoInteractiveAsync("/admin/node-tokens");
        await child.ClickAsync("[data-testid=create-token]");
        // The dialog's first field has the focus, and Enter there creates the token.
        await Assertions.Expect(child.Locator("[data-testid=token-name-input]")).ToBeFocusedAsync();
        await child.Keyboard.TypeAsync("parent");
        await child.Keyboard.PressAsync("Enter");
        var shown = (await child.Locator("[data-testid=token-secret]").TextContentAsync())!.Trim();
        // Copied with its button, as an admin would, and pasted into the parent's form.
        await child.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        await child.ClickAsync("[data-testid=token-copy]");
        await Assertions.Expect(child.GetByText("Copied the token.")).ToBeVisibleAsync();
        var token = await child.EvaluateAsync<string>("navigator.clipboard.readText()");
        Assert.Equal(shown, token);

        // On the parent: link it.
        var parent = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(parent).SignInAsync(PortalNode.AdminUserName, fixture.Parent.AdminPassword);
        await new LinkNodesPage(parent).LinkAsync("mail-1", fixture.Child.HostUrl.ToString(), token);

        var row = parent.Locator("[data-testid=linked-nodes] tr").Filter(new() { HasText = "mail-1" });
        await Assertions.Expect(row.Locator("[data-testid=node-status]")).ToHaveAttributeAsync("data-status", "Online");
        await Assertions.Expect(row).ToContainTextAsync("Mail");

        // The child's own page names its parent, since when and the token it holds, and offers no link of its own.
        await child.GotoInteractiveAsync("/admin/linked-nodes");
        await Assertions.Expect(child.Locator("[data-testid=parent-name]")).ToContainTextAsync(fixture.Parent.Name);
        await Assertions.Expect(child.Locator("[data-testid=parent-token]")).ToContainTextAsync("parent, a node API token of admin");
        await Assertions.Expect(child.Locator("[data-testid=parent-may]")).ToContainTextAsync("Move those accounts' mail here and away");
        await Assertions.Expect(child.Locator("[data-testid=link-node]")).ToHaveCountAsync(0);

        // The admin home shows the linked set.
        await parent.GotoInteractiveAsync("/admin");
        await Assertions.Expect(parent.Locator("[data-testid=set-node]").Filter(new() { HasText = "mail-1" })).ToHaveAttributeAsync("data-status", "Online");
    }

    [Fact]
    public async Task Admin_LinkingAnOlderMajorVersion_SeesWhyAndWhatToDo()
    {
        var token = (await fixture.OldChild.Api.PostAsync("api/v1/node-tokens", new { name = "parent" })).Expect(HttpStatusCode.Created).Field("secret");
        var parent = await fixture.NewPageAsync(fixture.Parent);
        await new SignInPage(parent).SignInAsync(PortalNode.AdminUserName, fixture.Parent.AdminPassword);

        await new LinkNodesPage(parent).LinkAsync("old-1", fixture.OldChild.HostUrl.ToString(), token, expectSuccess: false);

        var errors = parent.Locator("[data-testid=link-errors]");
        await Assertions.Expect(errors).ToContainTextAsync("runs Portal 0.9.0, an older major version than this parent");
        await Assertions.Expect(errors).ToContainTextAsync("update it to 1.x and link again");
    }
}
