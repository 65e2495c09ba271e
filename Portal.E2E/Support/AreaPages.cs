namespace Portal.E2E.Support;

/// <summary>Every page of each area (the layout and accessibility tests visit them all), and users to visit them as.</summary>
public static class AreaPages
{
    public static readonly string[] Admin =
    [
        "/admin", "/admin/accounts", "/admin/accounts/new", "/admin/audit", "/admin/operations", "/admin/users", "/admin/linked-nodes",
        "/admin/ssl", "/admin/scheduled-deletions", "/admin/node-tokens", "/admin/api-tokens", "/admin/password-policy", "/admin/server-profile",
        "/admin/transfer", "/admin/password", "/admin/packages",
    ];

    public static readonly string[] Reseller = ["/reseller", "/reseller/accounts", "/reseller/accounts/new", "/reseller/api-tokens", "/reseller/password"];

    public static readonly string[] Owner = ["/account", "/account/email", "/account/forwarders", "/account/api-tokens", "/account/password"];

    /// <summary>A package on the node, so the Packages page has a row to lay out and check.</summary>
    public static async Task NewPackageAsync(PortalNode node) =>
        (await node.Api.PostAsync("api/v1/packages", new { name = "Plan " + Guid.NewGuid().ToString("N")[..6], mailQuotaMegabytes = 2048, maxMailboxes = 25 })).Expect(HttpStatusCode.Created);

    /// <summary>A new reseller on the node: its user name and password.</summary>
    public static async Task<(string User, string Password)> NewResellerAsync(PortalNode node)
    {
        var name = "res" + Guid.NewGuid().ToString("N")[..6];
        var password = "reseller-Kq7vZp3x-" + name;
        (await node.Api.PostAsync("api/v1/users", new { userName = name, role = "Reseller", password })).Expect(HttpStatusCode.Created);
        return (name, password);
    }

    /// <summary>A new account with one mailbox: its owner's user name (the account's) and generated password.</summary>
    public static async Task<(string User, string Password)> NewOwnerAsync(PortalNode node)
    {
        var name = "own" + Guid.NewGuid().ToString("N")[..6];
        var created = (await node.Api.PostAsync("api/v1/accounts", new { username = name, domain = $"{name}.example.test", contactEmail = $"o@{name}.example.test" }))
            .Expect(HttpStatusCode.Created);
        (await node.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
        return (name, created.Body.GetProperty("generatedPassword").GetString()!);
    }
}
