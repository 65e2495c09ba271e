namespace Portal.Features.Transfers;

/// <summary>Where a transferred account's mail is read: this node, or the child that holds it.</summary>
public sealed class MailSource(IDbContextFactory<PortalDbContext> dbFactory, NodeLinkService links, INodeApiClientFactory clients)
{
    public async Task<NodeApiClient?> ChildOfAsync(Account account, CancellationToken ct)
    {
        if (account.MailNodeId is not { } nodeId)
        {
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == nodeId, ct)
            ?? throw new PortalConflictException($"The mail of {account.Username} is on a child this node is no longer linked to.", code: "transfer.distributed");
        return clients.Create(links.EndpointOf(node));
    }
}
