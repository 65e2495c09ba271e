namespace Portal.E2E.Support;

/// <summary>A parent, a mail child and a child of an older major version, each a process, and headless Chromium.</summary>
public sealed class LinkBrowserFixture : NodesBrowserFixture
{
    public PortalNode Parent { get; private set; } = default!;

    public PortalNode Child { get; private set; } = default!;

    public PortalNode OldChild { get; private set; } = default!;

    protected override async Task<PortalNode[]> StartNodesAsync()
    {
        var nodes = await Task.WhenAll(
            PortalNode.StartAsync("parent"),
            PortalNode.StartAsync("mail-child"),
            PortalNode.StartAsync("old-child", new Dictionary<string, string> { ["Portal:Development:ReportedVersion"] = "0.9.0" }));
        (Parent, Child, OldChild) = (nodes[0], nodes[1], nodes[2]);
        return nodes;
    }
}

[CollectionDefinition(Name)]
public sealed class LinkBrowserCollection : ICollectionFixture<LinkBrowserFixture>
{
    public const string Name = "Browser against linked nodes";
}
