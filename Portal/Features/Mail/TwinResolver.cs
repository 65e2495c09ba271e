namespace Portal.Features.Mail;

/// <summary>Finds the twin a parent's node API call is about: only twins of this node's own parent.</summary>
public sealed class TwinResolver(IDbContextFactory<PortalDbContext> dbFactory, NodeIdentityService identity)
{
    public async Task<Account> FindAsync(string username, CancellationToken ct)
    {
        var node = await identity.GetAsync(ct);
        var parent = node.Parent ?? throw new PortalConflictException($"Node {node.Name} is not a child node.", code: "node.not_child");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.Username == username && a.ParentNodeId == parent.NodeId, ct)
            ?? throw new PortalNotFoundException($"Node {node.Name} keeps no account {username} for {parent.Name}.");
    }

    /// <summary>
    /// The parent's admin calling, as the audit here names them: "(parent, on behalf of &lt;user&gt;)" when the parent says
    /// for whom (<see cref="NodeApiHeaders.OnBehalfOf"/>, believed only in that well-formed shape), else "(via parent node)".
    /// </summary>
    public static Actor Actor(HttpContext http)
    {
        var actor = Infrastructure.Security.Actor.From(http.User, http.Connection.RemoteIpAddress?.ToString());
        var behalf = http.Request.Headers[NodeApiHeaders.OnBehalfOf].ToString();
        return actor with { Name = NodeApiHeaders.IsAcceptableName(behalf) ? $"{actor.Name} (parent, on behalf of {behalf})" : $"{actor.Name} (via parent node)" };
    }
}
