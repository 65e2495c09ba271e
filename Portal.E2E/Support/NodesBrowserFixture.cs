namespace Portal.E2E.Support;

/// <summary>
/// Node processes and one headless Debian Chromium, shared by a collection's browser tests. A fixture starts its nodes
/// (<see cref="StartNodesAsync"/>) and then prepares them (<see cref="PrepareAsync"/>: linking, profiles); at the end
/// the browser and every node it started go, whatever failed on the way.
/// </summary>
public abstract class NodesBrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private PortalNode[] _nodes = [];

    public IBrowser Browser { get; private set; } = default!;

    /// <summary>Chromium's extra command-line switches (for example a host resolver rule).</summary>
    protected virtual string[] BrowserArgs => [];

    protected abstract Task<PortalNode[]> StartNodesAsync();

    protected virtual Task PrepareAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        _nodes = await StartNodesAsync();
        await PrepareAsync();
        _playwright = await Playwright.CreateAsync();
        Browser = await BrowserFixture.LaunchAsync(_playwright, BrowserArgs);
    }

    public virtual async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await Task.WhenAll(_nodes.Select(n => n.DisposeAsync().AsTask()));
    }

    /// <summary>A fresh browser profile (no cookies) pointed at <paramref name="node"/>.</summary>
    public virtual Task<IPage> NewPageAsync(PortalNode node) => BrowserFixture.NewPageAsync(Browser, node);

    /// <summary>
    /// Makes <paramref name="child"/> a mail node and links it to <paramref name="parent"/> as "mail-1" through their
    /// APIs, as an admin would; returns the child's id on the parent.
    /// </summary>
    protected static async Task<string> LinkMailChildAsync(PortalNode parent, PortalNode child)
    {
        (await child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
        var token = (await child.Api.PostAsync("api/v1/node-tokens", new { name = "parent" })).Expect(HttpStatusCode.Created).Field("secret");
        return (await parent.Api.PostAsync("api/v1/linked-nodes", new { alias = "mail-1", address = child.HostUrl.ToString(), adminUserName = PortalNode.AdminUserName, token, verifyTls = false, purpose = "Mail" }))
            .Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;
    }
}
