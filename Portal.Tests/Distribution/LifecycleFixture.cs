namespace Portal.Tests.Distribution;

/// <summary>
/// Two parents and four mail children, each a process, for what changes links: the first parent links every child;
/// a test may unlink one, link it to <see cref="NewParent"/>, or stop it. Copies of accounts whose mail left a child
/// are kept ten minutes (tests that need one due make it so).
/// </summary>
public sealed class LifecycleFixture : IAsyncLifetime
{
    public PortalNode Parent { get; private set; } = default!;

    public PortalNode NewParent { get; private set; } = default!;

    /// <summary>Moved to <see cref="NewParent"/> by the guide's procedure.</summary>
    public PortalNode Moving { get; private set; } = default!;

    /// <summary>Unlinked with its waiting copies deleted.</summary>
    public PortalNode Leaving { get; private set; } = default!;

    /// <summary>Lost for a while: its accounts are force-dedistributed.</summary>
    public PortalNode Lost { get; private set; } = default!;

    /// <summary>Takes and gives back several accounts at once.</summary>
    public PortalNode Bulk { get; private set; } = default!;

    public Dictionary<PortalNode, string> NodeIds { get; } = [];

    public async Task InitializeAsync()
    {
        var parentSettings = new Dictionary<string, string>
        {
            ["Portal:Dns:PublicIPv4"] = "127.0.0.50",
            ["Portal:Jobs:SchedulePollInterval"] = "00:00:01",
            ["Portal:Distribution:ChildAccountRetention"] = "00:10:00",
            ["Portal:Distribution:RetryWindow"] = "00:00:20",
        };
        var nodes = await Task.WhenAll(
            PortalNode.StartAsync("old-parent", parentSettings),
            PortalNode.StartAsync("new-parent", new Dictionary<string, string>(parentSettings) { ["Portal:Dns:PublicIPv4"] = "127.0.0.51" }),
            PortalNode.StartAsync("moving", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.52" }),
            PortalNode.StartAsync("leaving", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.53" }),
            PortalNode.StartAsync("lost", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.54" }),
            PortalNode.StartAsync("bulk", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = "127.0.0.55" }));
        (Parent, NewParent, Moving, Leaving, Lost, Bulk) = (nodes[0], nodes[1], nodes[2], nodes[3], nodes[4], nodes[5]);
        foreach (var child in new[] { Moving, Leaving, Lost, Bulk })
        {
            (await child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
            NodeIds[child] = await LinkAsync(Parent, child);
        }
    }

    public async Task DisposeAsync() =>
        await Task.WhenAll(new[] { Parent, NewParent, Moving, Leaving, Lost, Bulk }.Where(n => n is not null).Select(n => n.DisposeAsync().AsTask()));

    /// <summary>Links a child to a parent under the child's name; returns its id there.</summary>
    public static async Task<string> LinkAsync(PortalNode parent, PortalNode child) =>
        (await LinkedNodesFixture.LinkAsync(parent, child, child.Name, await LinkedNodesFixture.NodeTokenAsync(child))).Expect(HttpStatusCode.Created)
            .Body.GetProperty("node").GetProperty("id").GetString()!;

    /// <summary>A local account on <paramref name="node"/> with one mailbox of generated mail.</summary>
    public static async Task<(string Name, string Domain, string Mailbox)> AccountWithMailAsync(PortalNode node, int messages, string? name = null)
    {
        name ??= "lc" + Guid.NewGuid().ToString("N")[..8];
        var domain = $"{name}.example.test";
        (await node.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
        (await node.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
        var mailbox = Path.Combine(node.MailRoot, domain, "alice");
        new MailGenerator(name.GetHashCode()).Fill(mailbox, messages);
        return (name, domain, mailbox);
    }

    /// <summary>Moves an account's mail (to a child's id, or null for back home) on a parent and waits for the end.</summary>
    public static async Task<JsonElement> MoveAsync(PortalNode parent, string account, string? nodeId)
    {
        var id = (await parent.Api.PutAsync($"api/v1/accounts/{account}/mail-node", new { nodeId })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
        return await parent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed" or "Cancelled");
    }
}

[CollectionDefinition(Name)]
public sealed class LifecycleCollection : ICollectionFixture<LifecycleFixture>
{
    public const string Name = "Account lifecycle across links (two parents, four children)";
}
