namespace Portal.Features.Tls;

/// <summary>The host name a node's panel is reached at, and the rules its certificate from AutoSSL follows.</summary>
public static class PanelHost
{
    /// <summary>The host of <c>Portal:PublicUrl</c> as DNS stores it, or null when it has none (no URL, or an address).</summary>
    public static string? Of(PortalSettings settings) =>
        Uri.TryCreate(settings.PublicUrl, UriKind.Absolute, out var url) && url.HostNameType == UriHostNameType.Dns
        && url.IdnHost.ToLowerInvariant() is var host && DomainNames.IsHostName(host)
            ? host
            : null;

    /// <summary>The host name this node asks its parent's AutoSSL for (its health report says it), or null.</summary>
    public static string? Requested(PortalSettings settings) => settings.Tls.CertificateFromAutoSsl ? Of(settings) : null;

    /// <summary>Whether the host lies in the zone (below its apex: the apex itself names no node).</summary>
    public static bool IsIn(string host, string zone) =>
        host.EndsWith("." + zone.TrimEnd('.').ToLowerInvariant(), StringComparison.Ordinal);

    /// <summary>
    /// Which of the children's panel host names (in the order they were linked) this parent takes, certifies and answers
    /// in its nodes' zone. A name that is this node's own panel host, the host another node is linked by, or one an
    /// earlier-linked child already has, is refused with why: otherwise a compromised child could take another node's
    /// name, have this parent's DNS point it at itself and hold a certificate for it.
    /// </summary>
    /// <param name="children">Every linked child, in the order they were linked, with the panel host name it asks for (null: none).</param>
    public static IReadOnlyList<PanelHostClaim> ChildClaims(string? ownHost, IReadOnlyList<(string Alias, string BaseUrl, string? PanelHostName)> children)
    {
        var linkedBy = children.Select(c => (c.Alias, Host: Uri.TryCreate(c.BaseUrl, UriKind.Absolute, out var url) ? url.IdnHost.ToLowerInvariant() : null)).ToList();
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        var claims = new List<PanelHostClaim>();
        foreach (var (alias, _, asked) in children)
        {
            if (asked is not { } host)
            {
                continue;
            }

            var problem = host == ownHost ? $"{host} is this node's own panel host name"
                : linkedBy.FirstOrDefault(l => l.Host == host && l.Alias != alias).Alias is { } other ? $"{host} is the host {other} is linked by"
                : taken.TryGetValue(host, out var first) ? $"{host} is already the panel host name of {first}"
                : null;
            if (problem is null)
            {
                taken[host] = alias;
            }

            claims.Add(new PanelHostClaim(host, alias, problem));
        }

        return claims;
    }
}

/// <summary>A child's panel host name, and why this parent refuses it (null: taken).</summary>
public sealed record PanelHostClaim(string Host, string Node, string? Problem);
