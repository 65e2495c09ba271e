namespace Portal.Features.Accounts;

/// <summary>The children an account's mail can live on, and which one "automatic" picks.</summary>
public sealed class MailNodes(IDbContextFactory<PortalDbContext> dbFactory)
{
    public async Task<IReadOnlyList<MailNodeChoice>> ChoicesAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins choose mail nodes.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await ChoicesAsync(db, cancellationToken);
    }

    internal static async Task<IReadOnlyList<MailNodeChoice>> ChoicesAsync(PortalDbContext db, CancellationToken ct)
    {
        var nodes = await db.LinkedNodes.AsNoTracking().OrderBy(n => n.Alias).ToListAsync(ct);
        var counts = await AccountCountsAsync(db, ct);
        return nodes.Select(n => new MailNodeChoice(n.Id, n.Alias, n.Status, n.MailFreeBytes, n.MailTotalBytes, counts.GetValueOrDefault(n.Id),
            n.Purpose == LinkPurpose.Mail && ServerProfiles.RolesOf(n.Profile).HasFlag(NodeRoles.MailReceive))).ToArray();
    }

    internal static async Task<Dictionary<Guid, int>> AccountCountsAsync(PortalDbContext db, CancellationToken ct) =>
        await db.Accounts.Where(a => a.MailNodeId != null).GroupBy(a => a.MailNodeId!.Value)
            .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);

    /// <summary>
    /// Turns a routing choice into the node that will serve mail (null: local), or refuses with what to do. Automatic
    /// picks the online mail child with the fewest accounts, then the most free disk.
    /// </summary>
    internal static async Task<LinkedNode?> ResolveAsync(PortalDbContext db, MailRouting routing, CancellationToken ct)
    {
        switch (routing.Kind)
        {
            case MailRoutingKind.Local:
                return null;
            case MailRoutingKind.Node:
                var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == routing.NodeId, ct)
                    ?? throw new PortalValidationException("That mail node is not linked to this node (it may have been unlinked); choose another, or Local.", code: "routing.unknown_node");
                var choice = (await ChoicesAsync(db, ct)).Single(c => c.Id == node.Id);
                if (!choice.ServesMail)
                {
                    throw new PortalValidationException($"Node {node.Alias} does not serve mail (profile {node.Profile}); choose a mail node, or Local.", code: "routing.not_mail");
                }

                if (node.Status != NodeStatus.Online)
                {
                    throw new PortalValidationException($"Node {node.Alias} is {node.Status.ToString().ToLowerInvariant()} (last checked {node.LastCheckAt:u}); choose an online mail node, or Local, or check it again under Link Server Nodes.", code: "routing.node_offline");
                }

                return node;
            case MailRoutingKind.Automatic:
                var best = (await ChoicesAsync(db, ct)).Where(c => c.Selectable)
                    .OrderBy(c => c.AccountCount).ThenByDescending(c => c.MailFreeBytes ?? 0).FirstOrDefault()
                    ?? throw new PortalValidationException("No online child node serves mail, so \"automatic\" has nothing to choose from; choose Local, or link a mail node.", code: "routing.none_available");
                return await db.LinkedNodes.AsNoTracking().SingleAsync(n => n.Id == best.Id, ct);
            default:
                throw new ArgumentOutOfRangeException(nameof(routing), routing.Kind, null);
        }
    }
}
