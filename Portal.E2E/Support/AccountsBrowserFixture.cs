namespace Portal.E2E.Support;

/// <summary>A parent with a linked mail child (linked through the API), each a process, and headless Chromium.</summary>
public sealed class AccountsBrowserFixture : NodesBrowserFixture
{
    public PortalNode Parent { get; private set; } = default!;

    public PortalNode Child { get; private set; } = default!;

    public string ChildId { get; private set; } = "";

    protected override async Task<PortalNode[]> StartNodesAsync()
    {
        // Small batches, so a move's progress is seen going up in steps.
        var nodes = await Task.WhenAll(
            PortalNode.StartAsync("parent", new Dictionary<string, string> { ["Portal:Distribution:BatchFiles"] = "100" }),
            PortalNode.StartAsync("mail-child", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.41" }));
        (Parent, Child) = (nodes[0], nodes[1]);
        return nodes;
    }

    protected override async Task PrepareAsync() => ChildId = await LinkMailChildAsync(Parent, Child);
}

[CollectionDefinition(Name)]
public sealed class AccountsBrowserCollection : ICollectionFixture<AccountsBrowserFixture>
{
    public const string Name = "Browser against a parent with a mail child";
}
