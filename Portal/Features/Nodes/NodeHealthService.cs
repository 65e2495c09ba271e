namespace Portal.Features.Nodes;

/// <summary>An admin's "check now": the same check the minute job runs, for one child, at once.</summary>
public sealed class NodeHealthService(NodeDirectory directory, NodeHealthJob job, NodeLinkService links)
{
    public async Task<LinkedNodeRow> CheckNowAsync(Actor actor, Guid id, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins can check linked nodes.");
        }

        var node = await directory.FindAsync(id, cancellationToken)
            ?? throw new PortalNotFoundException("No linked node has that id; reload the list.");
        await job.CheckAsync(node, cancellationToken);
        return (await links.GetAsync(actor, id, cancellationToken))!;
    }
}
