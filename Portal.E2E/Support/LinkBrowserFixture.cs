namespace Portal.E2E.Support;

/// <summary>A parent, a mail child and a child of an older major version, each a process, and headless Chromium.</summary>
public sealed class LinkBrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public PortalNode Parent { get; private set; } = default!;

    public PortalNode Child { get; private set; } = default!;

    public PortalNode OldChild { get; private set; } = default!;

    public IBrowser Browser { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        var nodes = await Task.WhenAll(
            PortalNode.StartAsync("parent"),
            PortalNode.StartAsync("mail-child"),
            PortalNode.StartAsync("old-child", new Dictionary<string, string> { ["Portal:Development:ReportedVersion"] = "0.9.0" }));
        (Parent, Child, OldChild) = (nodes[0], nodes[1], nodes[2]);
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
        await Task.WhenAll(new[] { Parent, Child, OldChild }.Where(n => n is not null).Select(n => n.DisposeAsync().AsTask()));
    }

    public Task<IPage> NewPageAsync(PortalNode node) => BrowserFixture.NewPageAsync(Browser, node);
}

[CollectionDefinition(Name)]
public sealed class LinkBrowserCollection : ICollectionFixture<LinkBrowserFixture>
{
    public const string Name = "Browser against linked nodes";
}
