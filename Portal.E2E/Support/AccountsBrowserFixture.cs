namespace Portal.E2E.Support;

/// <summary>A parent with a linked mail child (linked through the API), each a process, and headless Chromium.</summary>
public sealed class AccountsBrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public PortalNode Parent { get; private set; } = default!;

    public PortalNode Child { get; private set; } = default!;

    public string ChildId { get; private set; } = "";

    public IBrowser Browser { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        // Small batches, so a move's progress is seen going up in steps.
        var nodes = await Task.WhenAll(
            PortalNode.StartAsync("parent", new Dictionary<string, string> { ["Portal:Distribution:BatchFiles"] = "100" }),
            PortalNode.StartAsync("mail-child", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.41" }));
        (Parent, Child) = (nodes[0], nodes[1]);
        (await Child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
        var token = (await Child.Api.PostAsync("api/v1/node-tokens", new { name = "parent" })).Expect(HttpStatusCode.Created).Field("secret");
        ChildId = (await Parent.Api.PostAsync("api/v1/linked-nodes", new { alias = "mail-1", address = Child.HostUrl.ToString(), adminUserName = PortalNode.AdminUserName, token, verifyTls = false, purpose = "Mail" }))
            .Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;
        _playwright = await Playwright.CreateAsync();
        Browser = await BrowserFixture.LaunchAsync(_playwright);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await Task.WhenAll(new[] { Parent, Child }.Where(n => n is not null).Select(n => n.DisposeAsync().AsTask()));
    }

    public Task<IPage> NewPageAsync(PortalNode node) => BrowserFixture.NewPageAsync(Browser, node);
}

[CollectionDefinition(Name)]
public sealed class AccountsBrowserCollection : ICollectionFixture<AccountsBrowserFixture>
{
    public const string Name = "Browser against a parent with a mail child";
}
