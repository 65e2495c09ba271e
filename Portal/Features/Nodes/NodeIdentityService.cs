namespace Portal.Features.Nodes;

/// <summary>This node as the rules see it.</summary>
public sealed record ThisNode(
    Guid NodeId,
    string Name,
    NodeVersion Version,
    ServerProfile Profile,
    NodeParentInfo? Parent,
    LinkPurpose? Purpose,
    int ChildCount,
    string PublicIPv4,
    Guid? ParentTokenId = null)
{
    public NodeRoles Roles => ServerProfiles.RolesOf(Profile);

    public bool IsChild => Parent is not null;

    public bool IsParent => ChildCount > 0;

    public NodeInfo ToInfo() => new(NodeId, Name, Version.ToString(), Profile.ToString(),
        ServerProfiles.Split(Roles).Select(r => r.ToString()).ToArray(), Parent, ChildCount, PublicIPv4);
}

/// <summary>
/// This node's identity, profile and parent. Read on every sign-in and API call, so it is cached in memory and
/// refreshed whenever this process changes it (links, unlinks and profile changes all happen here).
/// </summary>
public sealed class NodeIdentityService(
    IDbContextFactory<PortalDbContext> dbFactory,
    IOptions<PortalSettings> settings,
    AuditLog audit,
    TimeProvider clock)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ThisNode? _cached;

    public NodeVersion Version { get; } = settings.Value.Development.ReportedVersion is { } reported
        ? NodeVersion.Parse(reported)
        : NodeVersion.OfBuild;

    public async Task<ThisNode> GetAsync(CancellationToken cancellationToken = default)
    {
        if (_cached is { } cached)
        {
            return cached;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _cached ??= await LoadAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Invalidate() => _cached = null;

    /// <summary>Creates this node's identity (a new stable id) on first start.</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.NodeIdentity.AnyAsync(cancellationToken))
        {
            db.NodeIdentity.Add(new NodeIdentity { NodeId = Guid.NewGuid(), Profile = ServerProfile.Standard, CreatedAt = clock.GetUtcNow() });
            await db.SaveChangesAsync(cancellationToken);
        }

        Invalidate();
    }

    public async Task<ThisNode> SetProfileAsync(Actor actor, ServerProfile profile, CancellationToken cancellationToken = default)
    {
        var node = await GetAsync(cancellationToken);
        string? refusal = null;
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "node.profile", profile.ToString(), AuditOutcome.Refused, "Not an admin.", cancellationToken);
            throw new PortalForbiddenException("Only admins can change the server profile.");
        }

        if (node.IsParent && profile != ServerProfile.Standard)
        {
            refusal = $"This node is a parent of {node.ChildCount} linked node(s), and a parent node can only use the Standard profile. Unlink its children first to use the {profile} profile.";
        }
        else if (node is { IsChild: true, Purpose: { } purpose } && (ServerProfiles.RolesOf(profile) & ServerProfiles.RolesNeededFor(purpose)) != ServerProfiles.RolesNeededFor(purpose))
        {
            refusal = $"This node is linked to {node.Parent!.Name} as a {purpose.ToString().ToLowerInvariant()} node, and the {profile} profile does not serve {purpose.ToString().ToLowerInvariant()}. Choose Standard or {purpose}, or unlink it from its parent first.";
        }

        if (refusal is not null)
        {
            await audit.RecordAsync(actor, "node.profile", profile.ToString(), AuditOutcome.Refused, refusal, cancellationToken);
            throw new PortalValidationException(refusal, code: "node.profile_refused");
        }

        await UpdateAsync(row => row.Profile = profile, cancellationToken);
        await audit.RecordAsync(actor, "node.profile", profile.ToString(), AuditOutcome.Succeeded, $"Was {node.Profile}.", cancellationToken);
        return await GetAsync(cancellationToken);
    }

    /// <summary>
    /// The last step of linking, on the child: records the parent. Refuses a second parent, a link that would make a
    /// chain or a loop, a link to itself, and a profile that does not serve what the link is for.
    /// </summary>
    public async Task<ThisNode> RecordParentAsync(Actor actor, LinkParentRequest request, Guid? tokenId, CancellationToken cancellationToken = default)
    {
        var node = await GetAsync(cancellationToken);
        string? refusal = null;
        string code = "node.link_refused";
        if (!Enum.TryParse<LinkPurpose>(request.Purpose, out var purpose))
        {
            refusal = $"This node does not know the link purpose \"{request.Purpose}\"; update it to the parent's version.";
        }
        else if (request.ParentNodeId == node.NodeId)
        {
            (refusal, code) = ("A node cannot be linked to itself.", "node.self");
        }
        else if (node.Parent is { } parent && parent.NodeId != request.ParentNodeId)
        {
            (refusal, code) = ($"Node {node.Name} is already linked to parent {parent.Name} ({parent.Url}); a child has one parent. Unlink it there first.", "node.other_parent");
        }
        else if (node.Parent is not null && node.ParentTokenId is { } linkedWith && linkedWith != tokenId)
        {
            (refusal, code) = ($"Node {node.Name} is linked to {node.Parent.Name} through another token; only that token acts as its parent. If the parent lost its link, detach this node from it here (Node: parent) and link again.", "node.parent_token");
        }
        else if (node.IsParent)
        {
            (refusal, code) = ($"Node {node.Name} is itself the parent of {node.ChildCount} node(s); linking it as a child would make a chain or a loop. Unlink its children first.", "node.loop");
        }
        else if ((node.Roles & ServerProfiles.RolesNeededFor(purpose)) != ServerProfiles.RolesNeededFor(purpose))
        {
            (refusal, code) = ($"Node {node.Name} uses the {node.Profile} profile, which does not serve {purpose.ToString().ToLowerInvariant()}. Set its profile to {purpose} or Standard (Server Profile) and link again.", "node.profile_lacks_roles");
        }

        if (refusal is not null)
        {
            await audit.RecordAsync(actor, "node.parent.link", request.ParentName, AuditOutcome.Refused, refusal, cancellationToken);
            throw new PortalConflictException(refusal, code: code);
        }

        await UpdateAsync(row =>
        {
            row.ParentNodeId = request.ParentNodeId;
            row.ParentName = request.ParentName;
            row.ParentUrl = request.ParentUrl;
            row.ParentLinkedAt ??= clock.GetUtcNow();
            row.LinkPurpose = purpose;
            row.ParentTokenId = tokenId;
        }, cancellationToken);
        await audit.RecordAsync(actor, "node.parent.link", request.ParentName, AuditOutcome.Succeeded, $"Parent {request.ParentNodeId} at {request.ParentUrl}, for {purpose}.", cancellationToken);
        return await GetAsync(cancellationToken);
    }

    /// <summary>The child forgets its parent: when the parent unlinks it, or when its admin detaches it from a lost parent.</summary>
    public async Task<ThisNode> ClearParentAsync(Actor actor, Guid? parentNodeId, CancellationToken cancellationToken = default)
    {
        var node = await GetAsync(cancellationToken);
        if (node.Parent is null)
        {
            return node;
        }

        if (parentNodeId is { } claimed && claimed != node.Parent.NodeId)
        {
            var refusal = $"Node {node.Name} is linked to {node.Parent.Name}, not to the node asking to unlink it.";
            await audit.RecordAsync(actor, "node.parent.unlink", node.Parent.Name, AuditOutcome.Refused, refusal, cancellationToken);
            throw new PortalConflictException(refusal, code: "node.other_parent");
        }

        if (parentNodeId is null && !actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins can detach this node from its parent.");
        }

        await UpdateAsync(row =>
        {
            row.ParentNodeId = null;
            row.ParentName = null;
            row.ParentUrl = null;
            row.ParentLinkedAt = null;
            row.LinkPurpose = null;
            row.ParentTokenId = null;
        }, cancellationToken);
        await audit.RecordAsync(actor, "node.parent.unlink", node.Parent.Name, AuditOutcome.Succeeded, parentNodeId is null ? "Detached by an admin of this node." : "Unlinked by the parent.", cancellationToken);
        return await GetAsync(cancellationToken);
    }

    /// <summary>A link made before parents' tokens were recorded takes the first parent-only call's token as its parent's.</summary>
    public async Task BindParentTokenAsync(Guid tokenId, CancellationToken cancellationToken)
    {
        await UpdateAsync(row => row.ParentTokenId ??= tokenId, cancellationToken);
    }

    private async Task UpdateAsync(Action<NodeIdentity> change, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.NodeIdentity.SingleAsync(ct);
        change(row);
        await db.SaveChangesAsync(ct);
        Invalidate();
    }

    private async Task<ThisNode> LoadAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.NodeIdentity.AsNoTracking().SingleOrDefaultAsync(ct)
            ?? throw new InvalidOperationException("This node has no identity yet; it is created when the node starts.");
        var children = await db.LinkedNodes.CountAsync(ct);
        var parent = row.ParentNodeId is { } parentId
            ? new NodeParentInfo(parentId, row.ParentName ?? "", row.ParentUrl ?? "", row.ParentLinkedAt ?? row.CreatedAt)
            : null;
        return new ThisNode(row.NodeId, settings.Value.NodeName, Version, row.Profile, parent, row.LinkPurpose, children, settings.Value.Dns.PublicIPv4, row.ParentTokenId);
    }
}
