using Portal.Features.Dns;
using Portal.Infrastructure.Configuration;

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
}
