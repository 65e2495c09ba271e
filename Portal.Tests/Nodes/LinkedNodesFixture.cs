using System.Net;
using System.Text.Json;
using Portal.Tests.Support;

namespace Portal.Tests.Nodes;

/// <summary>
/// Real nodes, each its own process and database: a parent, two current children, a child of an older major
/// version and one of a newer major version. Tests share them, so each test starts from the same state
/// (<see cref="ResetAsync"/>): nothing linked, profiles back to their defaults.
/// </summary>
public sealed class LinkedNodesFixture : IAsyncLifetime
{
    public PortalNode Parent { get; private set; } = default!;

    public PortalNode ChildA { get; private set; } = default!;

    public PortalNode ChildB { get; private set; } = default!;

    public PortalNode ChildOld { get; private set; } = default!;

    public PortalNode ChildNew { get; private set; } = default!;

    public IEnumerable<PortalNode> All => [Parent, ChildA, ChildB, ChildOld, ChildNew];

    public async Task InitializeAsync()
    {
        var starting = new[]
        {
            PortalNode.StartAsync("parent"),
            PortalNode.StartAsync("child-a"),
            PortalNode.StartAsync("child-b"),
            PortalNode.StartAsync("child-old", new Dictionary<string, string> { ["Portal:Development:ReportedVersion"] = "0.9.0" }),
            PortalNode.StartAsync("child-new", new Dictionary<string, string> { ["Portal:Development:ReportedVersion"] = "2.0.0" }),
        };
        var nodes = await Task.WhenAll(starting);
        (Parent, ChildA, ChildB, ChildOld, ChildNew) = (nodes[0], nodes[1], nodes[2], nodes[3], nodes[4]);
        await ResetAsync();
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(All.Where(n => n is not null).Select(n => n.DisposeAsync().AsTask()));
    }

    /// <summary>Unlinks everything and sets each node's profile back: parent Standard, child A Mail, others Standard.</summary>
    public async Task ResetAsync()
    {
        foreach (var node in All.Where(n => !n.IsRunning))
        {
            await node.RestartAsync();
        }

        foreach (var linked in (await Parent.Api.GetAsync("api/v1/linked-nodes")).Expect(HttpStatusCode.OK).Body.EnumerateArray())
        {
            (await Parent.Api.DeleteAsync($"api/v1/linked-nodes/{linked.GetProperty("id").GetString()}")).Expect(HttpStatusCode.OK);
        }

        foreach (var node in All)
        {
            var info = (await node.Api.GetAsync("api/v1/node")).Expect(HttpStatusCode.OK).Body;
            if (info.GetProperty("parent").ValueKind != JsonValueKind.Null)
            {
                (await node.Api.DeleteAsync("api/v1/node/parent")).Expect(HttpStatusCode.OK);
            }

            foreach (var linked in (await node.Api.GetAsync("api/v1/linked-nodes")).Expect(HttpStatusCode.OK).Body.EnumerateArray())
            {
                (await node.Api.DeleteAsync($"api/v1/linked-nodes/{linked.GetProperty("id").GetString()}")).Expect(HttpStatusCode.OK);
            }
        }

        foreach (var node in All)
        {
            var profile = node == ChildA ? "Mail" : "Standard";
            (await node.Api.PutAsync("api/v1/node/profile", new { profile })).Expect(HttpStatusCode.OK);
        }
    }

    /// <summary>Creates a node API token on a node (as its first admin) and returns the token.</summary>
    public static async Task<string> NodeTokenAsync(PortalNode node, string name = "parent", DateTimeOffset? expiresAt = null)
    {
        var created = (await node.Api.PostAsync("api/v1/node-tokens", new { name, expiresAt })).Expect(HttpStatusCode.Created);
        return created.Field("secret");
    }

    /// <summary>A node token on <paramref name="node"/> for the transfer of one of its accounts, and nothing else.</summary>
    public static async Task<string> TransferTokenAsync(PortalNode node, string account, DateTimeOffset? expiresAt = null)
    {
        var created = (await node.Api.PostAsync("api/v1/node-tokens", new { name = $"transfer of {account}", expiresAt, transferAccount = account })).Expect(HttpStatusCode.Created);
        return created.Field("secret");
    }

    /// <summary>Links <paramref name="child"/> to <paramref name="parent"/> through the parent's API.</summary>
    public static async Task<ApiResponse> LinkAsync(PortalNode parent, PortalNode child, string alias, string? token = null, string? address = null, string adminUserName = PortalNode.AdminUserName)
    {
        token ??= await NodeTokenAsync(child);
        return await parent.Api.PostAsync("api/v1/linked-nodes", new
        {
            alias,
            address = address ?? child.HostUrl.ToString(),
            adminUserName,
            token,
            verifyTls = false,
            purpose = "Mail",
        });
    }
}

[CollectionDefinition(Name)]
public sealed class LinkedNodesCollection : ICollectionFixture<LinkedNodesFixture>
{
    public const string Name = "Linked nodes (five node processes)";
}
