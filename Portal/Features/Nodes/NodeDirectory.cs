using Microsoft.AspNetCore.DataProtection;

namespace Portal.Features.Nodes;

/// <summary>The parent's children for jobs (with their decrypted credentials), and where their health lands.</summary>
public sealed class NodeDirectory(
    IDbContextFactory<PortalDbContext> dbFactory,
    IDataProtectionProvider dataProtection,
    NodeIdentityService identity,
    NodeUpdates updates,
    ChildDeletionService deletions,
    ILogger<NodeDirectory> logger) : INodeDirectory
{
    private readonly IDataProtector _tokens = dataProtection.CreateProtector("Portal.LinkedNodes.Token.v1");

    public async Task<IReadOnlyList<LinkedNodeEndpoint>> ListLinkedAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var nodes = await db.LinkedNodes.AsNoTracking().ToListAsync(cancellationToken);
        return nodes.Select(ToEndpoint).ToArray();
    }

    public async Task<LinkedNodeEndpoint?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == id, cancellationToken);
        return node is null ? null : ToEndpoint(node);
    }

    public async Task RecordHealthAsync(Guid nodeId, NodeHealthResult result, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var node = await db.LinkedNodes.SingleOrDefaultAsync(n => n.Id == nodeId, cancellationToken);
        if (node is null)
        {
            return; // unlinked while it was being checked
        }

        var was = node.Status;
        node.LastCheckAt = result.CheckedAt;
        // The child's own account of itself is untrusted input: a report that breaks the rules counts as no answer.
        if (result is { Online: true, Report: { } reported } && Refusal(node.Alias, reported) is { } refusal)
        {
            logger.LogWarning("Linked node {Alias}: {Refusal}", node.Alias, refusal);
            result = result with { Online = false, Report = null, Error = refusal };
        }

        if (result is { Online: true, Report: { } report })
        {
            node.Status = NodeStatus.Online;
            node.LastOnlineAt = result.CheckedAt;
            node.LastError = null;
            node.Version = report.Version;
            node.Profile = Enum.Parse<ServerProfile>(report.Profile);
            node.MailFreeBytes = report.MailFreeBytes;
            node.MailTotalBytes = report.MailTotalBytes;
            node.PublicIPv4 = report.PublicIPv4 ?? node.PublicIPv4;
            node.PanelHostName = report.PanelHostName;
            if (node.VerifyTls && new Uri(node.BaseUrl).Scheme == Uri.UriSchemeHttps)
            {
                node.TlsVerified = true;
            }
        }
        else
        {
            node.Status = NodeStatus.Offline;
            node.LastError = result.Error;
        }

        await db.SaveChangesAsync(cancellationToken);
        if (was != node.Status)
        {
            logger.LogWarning("Linked node {Alias} is now {Status}", node.Alias, node.Status);
            if (node.Status == NodeStatus.Online && await deletions.RunDueForNodeAsync(node.Id, cancellationToken) is > 0 and var started)
            {
                logger.LogInformation("Linked node {Alias} is back: {Count} deletion(s) of account copies that came due meanwhile run now", node.Alias, started);
            }
        }

        updates.Publish(new LinkedNodeChange(node.Id, NodeLinkService.ToRow(node, identity.Version)));
    }

    /// <summary>What is wrong with a health report, for the node's error; null when every field may be taken.</summary>
    internal static string? Refusal(string alias, NodeHealthReport report)
    {
        if (report.PublicIPv4 is not null && !ReportedAddress.IsAcceptable(report.PublicIPv4))
        {
            return $"{alias} reported \"{MailRules.Printable(report.PublicIPv4)}\" as its public IPv4 address; Portal refuses it (it would go into the mail routing and DNS). Check the node's Portal:Dns:PublicIPv4, and the node itself.";
        }

        if (report.PanelHostName is { } host && !DomainNames.IsHostName(host))
        {
            return $"{alias} reported \"{MailRules.Printable(host)}\" as its panel's host name; Portal refuses it (AutoSSL would certify it). Check the node's Portal:PublicUrl, and the node itself.";
        }

        if (!NodeVersion.TryParse(report.Version, out _) || !Enum.TryParse<ServerProfile>(report.Profile, out _) || report.MailFreeBytes < 0 || report.MailTotalBytes < 0)
        {
            return $"{alias} answered its health check with values Portal refuses (version \"{MailRules.Printable(report.Version ?? "")}\", profile \"{MailRules.Printable(report.Profile ?? "")}\").";
        }

        return null;
    }

    private LinkedNodeEndpoint ToEndpoint(LinkedNode node) =>
        new(node.Id, node.Alias, new NodeEndpoint(new Uri(node.BaseUrl), node.AdminUserName, _tokens.Unprotect(node.ProtectedToken), node.VerifyTls));
}

