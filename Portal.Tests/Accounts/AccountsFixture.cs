namespace Portal.Tests.Accounts;

/// <summary>
/// A parent with two linked mail children, each its own process and database, with distinct public addresses so the
/// DNS records show which node serves an account's mail.
/// </summary>
public sealed class AccountsFixture : IAsyncLifetime
{
    public const string ParentAddress = "127.0.0.10";
    public const string Mail1Address = "127.0.0.11";
    public const string Mail2Address = "127.0.0.12";

    /// <summary>The domain of the parent's name servers (ns1. and ns2.), one of the panel's own names.</summary>
    public const string ParentNameServerDomain = "hosting-parent.example.net";

    public PortalNode Parent { get; private set; } = default!;

    public PortalNode Mail1 { get; private set; } = default!;

    public PortalNode Mail2 { get; private set; } = default!;

    public string Mail1Id { get; private set; } = "";

    public string Mail2Id { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var nodes = await Task.WhenAll(
            PortalNode.StartAsync("parent", new Dictionary<string, string>
            {
                ["Portal:Dns:PublicIPv4"] = ParentAddress,
                ["Portal:Dns:NameServers:0"] = "ns1." + ParentNameServerDomain,
                ["Portal:Dns:NameServers:1"] = "ns2." + ParentNameServerDomain,
            }),
            PortalNode.StartAsync("mail1", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = Mail1Address }),
            PortalNode.StartAsync("mail2", new Dictionary<string, string> { ["Portal:Dns:PublicIPv4"] = Mail2Address }));
        (Parent, Mail1, Mail2) = (nodes[0], nodes[1], nodes[2]);
        foreach (var child in new[] { Mail1, Mail2 })
        {
            (await child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
        }

        Mail1Id = (await LinkedNodesFixture.LinkAsync(Parent, Mail1, "mail-1")).Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;
        Mail2Id = (await LinkedNodesFixture.LinkAsync(Parent, Mail2, "mail-2")).Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;
    }

    public async Task DisposeAsync() =>
        await Task.WhenAll(new[] { Parent, Mail1, Mail2 }.Where(n => n is not null).Select(n => n.DisposeAsync().AsTask()));

    /// <summary>A unique account name (at most 16 characters), for tests that share the nodes.</summary>
    public static string NewName(string prefix) => (prefix + Guid.NewGuid().ToString("N"))[..Math.Min(16, prefix.Length + 8)];

    public static string NewDomain(string name) => $"{name}.example.test";

    /// <summary>Creates a reseller on a node and returns an API client acting as it.</summary>
    public static async Task<(string Name, PortalApi Api)> CreateResellerAsync(PortalNode node)
    {
        var name = NewName("res");
        var created = (await node.Api.PostAsync("api/v1/users", new { userName = name, role = "Reseller" })).Expect(HttpStatusCode.Created);
        return (name, new PortalApi(node.BaseUrl, await SeedTokenAsync(node, created.Field("id"), name)));
    }

    /// <summary>Seeds a user's own API token into the node's database, minted by the node's own code.</summary>
    public static async Task<string> SeedTokenAsync(PortalNode node, string userId, string userName)
    {
        var (row, token) = ApiTokenService.Mint(ApiTokenKind.User, "test", userId, userName, DateTimeOffset.UtcNow, null);
        await using var db = TestDatabases.OpenContext(node.ConnectionString);
        db.ApiTokens.Add(row);
        await db.SaveChangesAsync();
        return token;
    }

    /// <summary>An API client acting as an account's owner (the user named like the account), with a seeded token.</summary>
    public static async Task<PortalApi> OwnerApiAsync(PortalNode node, string userName)
    {
        await using var db = TestDatabases.OpenContext(node.ConnectionString);
        var userId = await db.Users.Where(u => u.UserName == userName).Select(u => u.Id).SingleAsync();
        return new PortalApi(node.BaseUrl, await SeedTokenAsync(node, userId, userName));
    }

    public Task<ApiResponse> CreateAccountAsync(PortalApi api, string name, object? routing = null, bool ipv6 = false, string[]? features = null, string? domain = null, string? owner = null) =>
        api.PostAsync("api/v1/accounts", new
        {
            username = name,
            domain = domain ?? NewDomain(name),
            contactEmail = $"owner@{name}.example.test",
            owner,
            mailRouting = routing,
            features,
            ipv6Enabled = ipv6,
        });

    public object ToMail1 => new { kind = "Node", nodeId = Mail1Id };

    public object ToMail2 => new { kind = "Node", nodeId = Mail2Id };
}

[CollectionDefinition(Name)]
public sealed class AccountsCollection : ICollectionFixture<AccountsFixture>
{
    public const string Name = "Accounts on a parent with two mail children";
}
