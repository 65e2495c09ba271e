namespace Portal.E2E.Support;

/// <summary>
/// One running node (its own process and database) and one headless Debian Chromium for the browser tests.
/// Playwright cannot download browsers here, so it drives /usr/bin/chromium.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public PortalNode Node { get; private set; } = default!;

    public IBrowser Browser { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        // A self-check long enough (a larger disk probe, more database round trips) for a person to watch it move.
        Node = await PortalNode.StartAsync("e2e", new Dictionary<string, string>
        {
            ["Portal:SelfCheck:DiskProbeBytes"] = (256L * 1024 * 1024).ToString(),
            ["Portal:SelfCheck:DatabasePings"] = "3000",
            ["Portal:Operations:ProgressInterval"] = "00:00:00.150",
        });
        _playwright = await Playwright.CreateAsync();
        Browser = await LaunchAsync(_playwright);
    }

    /// <summary>Debian's Chromium, headless, with nothing that reaches out to the network on its own.</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright, params string[] extraArgs) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = TestEnvironment.Chromium,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", .. extraArgs],
    });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Node is not null)
        {
            await Node.DisposeAsync();
        }
    }

    /// <summary>A fresh browser profile (no cookies) pointed at the node.</summary>
    public Task<IPage> NewPageAsync() => NewPageAsync(Browser, Node);

    public static async Task<IPage> NewPageAsync(IBrowser browser, PortalNode node)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = node.HostUrl.ToString(), ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        context.SetDefaultTimeout(20_000);
        return await context.NewPageAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser against one node";
}
