namespace Portal.Features.Dns;

/// <summary>
/// Which domains an account may have beyond being well formed and free: not a public suffix (its zone would answer
/// for every name registered below it), not the panel's own host names nor a domain that holds them (its zone would
/// answer for the panel), and not a subdomain of an account domain of another owner (a reseller could otherwise make
/// login.&lt;someone else's domain&gt; answer from this node's DNS).
/// </summary>
public sealed class DomainRules(IDbContextFactory<PortalDbContext> dbFactory, IOptions<PortalSettings> settings)
{
    private readonly Lazy<PublicSuffixList> _suffixes = new(() => PublicSuffixList.Load(settings.Value.Dns.PublicSuffixList));

    /// <param name="domain">The ASCII, lowercase domain.</param>
    /// <param name="ownerName">Who will own the account: "root" (the node's admins) or a reseller's user name.</param>
    public async Task<IReadOnlyList<string>> ProblemsAsync(string domain, string ownerName, CancellationToken ct)
    {
        var problems = new List<string>();
        if (_suffixes.Value.IsPublicSuffix(domain))
        {
            problems.Add($"{DomainNames.ToUnicode(domain)} is a public suffix (names below it belong to whoever registers them); give the account's own registered domain.");
        }

        foreach (var host in await PanelHostsAsync(ct))
        {
            if (domain == host || IsBelow(domain, host) || IsBelow(host, domain))
            {
                problems.Add($"{DomainNames.ToUnicode(domain)} would hold or lie under this panel's own host name {host}; an account cannot take it.");
            }
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var suffixes = ParentsOf(domain).ToList();
        var owners = await db.Accounts.AsNoTracking().Where(a => suffixes.Contains(a.Domain) && a.ParentNodeId == null)
            .Select(a => new { a.Domain, a.OwnerName }).ToListAsync(ct);
        foreach (var parent in owners.Where(o => o.OwnerName != ownerName))
        {
            problems.Add($"{DomainNames.ToUnicode(domain)} lies under {DomainNames.ToUnicode(parent.Domain)}, an account of another owner; only its owner's accounts may use names below it.");
        }

        return problems;
    }

    /// <summary>The names this panel is reached at, or publishes itself as: its URL's host, its name servers, its nodes' zone, its children's hosts.</summary>
    private async Task<IEnumerable<string>> PanelHostsAsync(CancellationToken ct)
    {
        var hosts = new HashSet<string>(StringComparer.Ordinal);
        if (Uri.TryCreate(settings.Value.PublicUrl, UriKind.Absolute, out var url) && url.HostNameType == UriHostNameType.Dns)
        {
            hosts.Add(url.IdnHost.ToLowerInvariant());
        }

        foreach (var ns in settings.Value.Dns.NameServers)
        {
            hosts.Add(ns.TrimEnd('.').ToLowerInvariant());
        }

        if (settings.Value.Dns.NodesZone is { Length: > 0 } nodesZone)
        {
            hosts.Add(nodesZone.TrimEnd('.').ToLowerInvariant());
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        foreach (var child in await db.LinkedNodes.AsNoTracking().Select(n => n.BaseUrl).ToListAsync(ct))
        {
            if (Uri.TryCreate(child, UriKind.Absolute, out var childUrl) && childUrl.HostNameType == UriHostNameType.Dns)
            {
                hosts.Add(childUrl.IdnHost.ToLowerInvariant());
            }
        }

        // Single-label names (localhost) are no domains an account could take.
        return hosts.Where(h => h.Contains('.', StringComparison.Ordinal));
    }

    private static bool IsBelow(string name, string domain) => name.EndsWith("." + domain, StringComparison.Ordinal);

    /// <summary>shop.example.co.uk: example.co.uk, co.uk, uk.</summary>
    private static IEnumerable<string> ParentsOf(string domain)
    {
        for (var dot = domain.IndexOf('.'); dot > 0; dot = domain.IndexOf('.', dot + 1))
        {
            yield return domain[(dot + 1)..];
        }
    }
}
