using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.DataProtection;

namespace Portal.Features.Nodes;

public sealed record LinkRequest(string Alias, string Address, string AdminUserName, string Token, bool VerifyTls, LinkPurpose Purpose = LinkPurpose.Mail);

public sealed record LinkedNodeRow(
    Guid Id,
    string Alias,
    string BaseUrl,
    string Name,
    ServerProfile Profile,
    string Version,
    string? VersionWarning,
    LinkPurpose Purpose,
    bool VerifyTls,
    bool TlsVerified,
    NodeStatus Status,
    DateTimeOffset? LastCheckAt,
    DateTimeOffset? LastOnlineAt,
    string? LastError,
    long? MailFreeBytes,
    long? MailTotalBytes,
    DateTimeOffset LinkedAt,
    int AccountCount = 0)
{
    public string Host => new Uri(BaseUrl).Authority;
}

public sealed record LinkResult(LinkedNodeRow Node, IReadOnlyList<string> Warnings);

public sealed record UnlinkResult(IReadOnlyList<string> Warnings);

/// <summary>
/// What becomes of accounts' copies still waiting on a child for their scheduled deletion when it is unlinked: the
/// admin must choose (refused until then), delete them now, or keep them (the child's admin releases them later).
/// </summary>
public enum PendingCopies
{
    Refuse,
    DeleteNow,
    Keep,
}

/// <summary>
/// The parent's side of linking ("Link Server Nodes"): link a child after a handshake with its node API, list the
/// children, check them, change their TLS verification, and unlink them. Each refusal says why and what to do, and
/// is audited.
/// </summary>
public sealed partial class NodeLinkService(
    IDbContextFactory<PortalDbContext> dbFactory,
    NodeIdentityService identity,
    INodeApiClientFactory clients,
    IDataProtectionProvider dataProtection,
    IOptions<PortalSettings> settings,
    NodeUpdates updates,
    AuditLog audit,
    TimeProvider clock)
{
    private readonly IDataProtector _tokens = dataProtection.CreateProtector("Portal.LinkedNodes.Token.v1");

    [GeneratedRegex("^[A-Za-z0-9_-]{1,50}$")]
    private static partial Regex AliasPattern();

    public async Task<IReadOnlyList<LinkedNodeRow>> ListAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        RequireAdmin(actor);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await db.LinkedNodes.AsNoTracking().OrderBy(n => n.Alias).ToListAsync(cancellationToken);
        var counts = await MailNodes.AccountCountsAsync(db, cancellationToken);
        return rows.Select(n => ToRow(n) with { AccountCount = counts.GetValueOrDefault(n.Id) }).ToArray();
    }

    public async Task<LinkedNodeRow?> GetAsync(Actor actor, Guid id, CancellationToken cancellationToken = default)
    {
        RequireAdmin(actor);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == id, cancellationToken);
        return row is null ? null : ToRow(row) with { AccountCount = await db.Accounts.CountAsync(a => a.MailNodeId == id, cancellationToken) };
    }

    public async Task<LinkResult> LinkAsync(Actor actor, LinkRequest request, CancellationToken cancellationToken = default)
    {
        var alias = request.Alias?.Trim() ?? "";
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "node.link", alias, AuditOutcome.Refused, "Not an admin.", cancellationToken);
            throw new PortalForbiddenException("Only admins can link nodes.");
        }

        try
        {
            var result = await LinkCheckedAsync(actor, request with { Alias = alias }, cancellationToken);
            await audit.RecordAsync(actor, "node.link", alias, AuditOutcome.Succeeded,
                $"Linked {result.Node.Name} ({result.Node.Id}) at {result.Node.BaseUrl} for {result.Node.Purpose}, version {result.Node.Version}.", cancellationToken);
            updates.Publish(new LinkedNodeChange(result.Node.Id, result.Node));
            return result;
        }
        catch (Exception ex) when (ex is PortalValidationException or PortalConflictException)
        {
            await audit.RecordAsync(actor, "node.link", alias, AuditOutcome.Refused, ex.Message, cancellationToken);
            throw;
        }
    }

    private async Task<LinkResult> LinkCheckedAsync(Actor actor, LinkRequest request, CancellationToken ct)
    {
        var problems = new List<string>();
        if (!AliasPattern().IsMatch(request.Alias))
        {
            problems.Add("The alias may hold letters, digits, '-' and '_', at most 50 characters, for example \"mail-1\".");
        }

        var baseUrl = ParseAddress(request.Address, settings.Value.AllowInsecureHttp, problems);
        if (string.IsNullOrWhiteSpace(request.AdminUserName))
        {
            problems.Add("Give the user name of the child's admin who created the API token.");
        }

        if (string.IsNullOrWhiteSpace(request.Token))
        {
            problems.Add("Give the child's node API token (create one on the child under Node API tokens).");
        }

        if (baseUrl is { Scheme: "http" } && request.VerifyTls)
        {
            problems.Add("Plain http has no TLS to verify; use https://, or turn TLS verification off for this development link.");
        }

        if (problems.Count > 0)
        {
            throw new PortalValidationException("The node was not linked: " + string.Join(" ", problems), problems, "link.invalid");
        }

        var self = await identity.GetAsync(ct);
        if (self.IsChild)
        {
            throw new PortalConflictException($"This node is itself a child of {self.Parent!.Name}; a child cannot link nodes (that would make a chain). Link the node from {self.Parent.Name} instead.", code: "node.loop");
        }

        if (self.Profile != ServerProfile.Standard)
        {
            throw new PortalConflictException($"This node uses the {self.Profile} profile, and a parent node can only use the Standard profile. Change it under Server Profile first.", code: "node.parent_profile");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.LinkedNodes.AnyAsync(n => n.Alias == request.Alias, ct))
        {
            throw new PortalConflictException($"A linked node already has the alias \"{request.Alias}\"; choose another.", code: "link.alias_taken");
        }

        var endpoint = new NodeEndpoint(baseUrl!, request.AdminUserName.Trim(), request.Token.Trim(), request.VerifyTls);
        var client = clients.Create(endpoint);
        NodeInfo info;
        try
        {
            info = await client.GetInfoAsync(ct);
        }
        catch (NodeApiException ex)
        {
            throw new PortalValidationException(ex.Message, code: ex.Code);
        }

        // The child's own account of itself is untrusted input.
        if (info.PublicIPv4 is not null && !ReportedAddress.IsAcceptable(info.PublicIPv4))
        {
            throw new PortalValidationException(
                $"{baseUrl} reports \"{MailRules.Printable(info.PublicIPv4)}\" as its public IPv4 address; Portal refuses it (it would go into the mail routing and DNS). Set Portal:Dns:PublicIPv4 on that node to its address and link again.",
                code: "link.bad_address");
        }

        if (!Enum.TryParse<ServerProfile>(info.Profile, out _))
        {
            throw new PortalValidationException($"{baseUrl} reports a server profile Portal does not know (\"{MailRules.Printable(info.Profile ?? "")}\"). Check that it is a Portal node.", code: "link.bad_profile");
        }

        if (info.NodeId == self.NodeId)
        {
            throw new PortalConflictException($"{baseUrl} is this node itself; a node cannot be linked to itself.", code: "node.self");
        }

        if (await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == info.NodeId, ct) is { } existing)
        {
            throw new PortalConflictException($"That node ({info.Name}) is already linked here as \"{existing.Alias}\".", code: "node.already_linked");
        }

        if (info.Parent is { } otherParent && otherParent.NodeId != self.NodeId)
        {
            throw new PortalConflictException($"Node {info.Name} is already linked to parent {otherParent.Name} ({otherParent.Url}); a child has one parent. Unlink it there first.", code: "node.other_parent");
        }

        if (info.ChildCount > 0)
        {
            throw new PortalConflictException($"Node {info.Name} is itself the parent of {info.ChildCount} node(s); linking it as a child would make a chain or a loop. Unlink its children first.", code: "node.loop");
        }

        var warnings = new List<string>();
        string? versionWarning = null;
        if (!NodeVersion.TryParse(info.Version, out var childVersion))
        {
            throw new PortalValidationException($"Node {info.Name} reports a version Portal cannot read (\"{info.Version}\"). Update it to Portal {self.Version.Major}.x.", code: "link.version_unknown");
        }

        if (childVersion.Major < self.Version.Major)
        {
            throw new PortalValidationException(
                $"Node {info.Name} runs Portal {childVersion}, an older major version than this parent ({self.Version}). A child needs the same major version or later: update it to {self.Version.Major}.x and link again.",
                code: "link.version_too_old");
        }

        if (childVersion.Major != self.Version.Major)
        {
            versionWarning = $"The child runs Portal {childVersion} and this parent {self.Version}: a different major version. It is allowed, but update this parent when you can.";
            warnings.Add(versionWarning);
        }

        var needed = ServerProfiles.RolesNeededFor(request.Purpose);
        var roles = ServerProfiles.Parse(info.Roles);
        if ((roles & needed) != needed)
        {
            var missing = string.Join(", ", ServerProfiles.Split(needed & ~roles).Select(ServerProfiles.Describe));
            throw new PortalValidationException(
                $"Node {info.Name} uses the {info.Profile} profile, which lacks what a {request.Purpose.ToString().ToLowerInvariant()} link needs ({missing}). Set its profile to {request.Purpose} or Standard and link again.",
                code: "node.profile_lacks_roles");
        }

        var publicUrl = settings.Value.PublicUrl ?? "";
        try
        {
            info = await client.LinkParentAsync(new LinkParentRequest(self.NodeId, self.Name, publicUrl, self.Version.ToString(), request.Purpose.ToString()), ct);
        }
        catch (NodeRequestException ex) when (ex.Status == 409)
        {
            throw new PortalConflictException(ex.Message, code: ex.Code);
        }
        catch (NodeApiException ex)
        {
            throw new PortalValidationException(ex.Message, code: ex.Code);
        }

        NodeHealthReport? health = null;
        try
        {
            health = await client.GetHealthAsync(ct);
        }
        catch (NodeApiException)
        {
            // The minute health check fills the figures in.
        }

        var now = clock.GetUtcNow();
        var node = new LinkedNode
        {
            Id = info.NodeId,
            Alias = request.Alias,
            BaseUrl = baseUrl!.ToString(),
            AdminUserName = endpoint.AdminUserName,
            ProtectedToken = _tokens.Protect(endpoint.Token),
            VerifyTls = request.VerifyTls,
            // The handshake went through with verification on over https: the certificate is good, and stays required.
            TlsVerified = request.VerifyTls && baseUrl.Scheme == Uri.UriSchemeHttps,
            Purpose = request.Purpose,
            Name = info.Name,
            Profile = Enum.Parse<ServerProfile>(info.Profile),
            Version = info.Version,
            Status = NodeStatus.Online,
            LastCheckAt = now,
            LastOnlineAt = now,
            LinkedAt = now,
            LinkedBy = actor.Name,
            MailFreeBytes = health?.MailFreeBytes,
            MailTotalBytes = health?.MailTotalBytes,
            // Checked before the link; the second answer (after recording the parent) is held to the same rule.
            PublicIPv4 = ReportedAddress.IsAcceptable(info.PublicIPv4) ? info.PublicIPv4 : null,
        };
        db.LinkedNodes.Add(node);
        await db.SaveChangesAsync(ct);
        identity.Invalidate();
        return new LinkResult(ToRow(node), warnings);
    }

    public async Task<UnlinkResult> UnlinkAsync(Actor actor, Guid id, TokenRetirement token, CancellationToken cancellationToken = default, PendingCopies copies = PendingCopies.Refuse)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var node = await db.LinkedNodes.SingleOrDefaultAsync(n => n.Id == id, cancellationToken);
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "node.unlink", node?.Alias ?? id.ToString(), AuditOutcome.Refused, "Not an admin.", cancellationToken);
            throw new PortalForbiddenException("Only admins can unlink nodes.");
        }

        if (node is null)
        {
            throw new PortalNotFoundException("No linked node has that id (it may have been unlinked already); reload the list.");
        }

        var users = await db.Accounts.Where(a => a.MailNodeId == id).OrderBy(a => a.Username).Select(a => a.Username).Take(11).ToListAsync(cancellationToken);
        var resellers = await (from r in db.ResellerSettings
                               join u in db.Users on r.UserId equals u.Id
                               where r.MailNodeId == id
                               orderby u.UserName
                               select u.UserName!).ToListAsync(cancellationToken);
        if (users.Count > 0 || resellers.Count > 0)
        {
            var problems = new List<string>();
            if (users.Count > 0)
            {
                var total = await db.Accounts.CountAsync(a => a.MailNodeId == id, cancellationToken);
                problems.Add($"{total} account(s) keep their mail on {node.Alias}: {string.Join(", ", users.Take(10))}{(total > 10 ? ", ..." : "")}. Dedistribute them first (or force it, if the node is lost).");
            }

            if (resellers.Count > 0)
            {
                problems.Add($"Reseller(s) {string.Join(", ", resellers)} create accounts with mail on {node.Alias}; set their mail routing elsewhere first.");
            }

            var message = $"{node.Alias} cannot be unlinked while it is in use. " + string.Join(" ", problems);
            await audit.RecordAsync(actor, "node.unlink", node.Alias, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalConflictException(message, problems, "node.in_use");
        }

        var warnings = new List<string>();
        var pending = await db.ChildAccountDeletions.Where(d => d.NodeId == id && d.State == ChildDeletionState.Scheduled).OrderBy(d => d.Username).ToListAsync(cancellationToken);
        if (pending.Count > 0)
        {
            var names = string.Join(", ", pending.Take(10).Select(d => d.Username)) + (pending.Count > 10 ? ", ..." : "");
            switch (copies)
            {
                case PendingCopies.Refuse:
                    var message = $"{pending.Count} account copy(ies) wait on {node.Alias} for their scheduled deletion ({names}). Delete them now, or keep them (the admin of {node.Name} can release them later), and unlink again.";
                    await audit.RecordAsync(actor, "node.unlink", node.Alias, AuditOutcome.Refused, message, cancellationToken);
                    throw new PortalConflictException(message, code: "node.copies_pending");
                case PendingCopies.DeleteNow:
                    var child = clients.Create(EndpointOf(node));
                    foreach (var deletion in pending)
                    {
                        try
                        {
                            await child.RemoveAccountTwinWithMailAsync(deletion.Username, cancellationToken);
                        }
                        catch (NodeApiException ex)
                        {
                            await db.SaveChangesAsync(cancellationToken);
                            var failed = $"{node.Alias} was not unlinked: the copy of {deletion.Username} there could not be deleted ({ex.Message}). Try again when it answers, or keep the copies.";
                            await audit.RecordAsync(actor, "node.unlink", node.Alias, AuditOutcome.Failed, failed, cancellationToken);
                            throw new PortalConflictException(failed, code: "node.copies_not_deleted");
                        }

                        (deletion.State, deletion.FinishedAt, deletion.Outcome) = (ChildDeletionState.Done, clock.GetUtcNow(), $"Deleted by {actor.Name} when {node.Alias} was unlinked.");
                        await audit.RecordAsync(actor, "child-copy.delete", deletion.Username, AuditOutcome.Succeeded, deletion.Outcome, cancellationToken);
                    }

                    break;
                case PendingCopies.Keep:
                    foreach (var deletion in pending)
                    {
                        (deletion.State, deletion.FinishedAt, deletion.Outcome) = (ChildDeletionState.Cancelled, clock.GetUtcNow(),
                            $"Kept by {actor.Name} when {node.Alias} was unlinked: its admin releases it (Link Server Nodes, accounts of a former parent).");
                    }

                    warnings.Add($"{pending.Count} account copy(ies) stay on {node.Alias} ({names}); its admin releases them under Link Server Nodes.");
                    break;
            }
        }

        try
        {
            await clients.Create(EndpointOf(node)).UnlinkParentAsync(new UnlinkParentRequest((await identity.GetAsync(cancellationToken)).NodeId, token), cancellationToken);
        }
        catch (NodeApiException ex)
        {
            warnings.Add($"The child could not be told ({ex.Message}). On {node.Name}, detach it from this parent (Server Profile) and revoke the token this parent used.");
        }

        db.LinkedNodes.Remove(node);
        await db.SaveChangesAsync(cancellationToken);
        identity.Invalidate();
        var how = token == TokenRetirement.RevokeNow ? "token revoked now" : "token expires in 24 hours";
        await audit.RecordAsync(actor, "node.unlink", node.Alias, AuditOutcome.Succeeded, $"Unlinked {node.Name} ({node.Id}); {how}." + (warnings.Count > 0 ? " " + warnings[0] : ""), cancellationToken);
        updates.Publish(new LinkedNodeChange(node.Id, null));
        return new UnlinkResult(warnings);
    }

    public async Task<LinkedNodeRow> SetTlsVerificationAsync(Actor actor, Guid id, bool verify, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var node = await db.LinkedNodes.SingleOrDefaultAsync(n => n.Id == id, cancellationToken);
        string? refusal = null;
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "node.tls", id.ToString(), AuditOutcome.Refused, "Not an admin.", cancellationToken);
            throw new PortalForbiddenException("Only admins can change a link's TLS verification.");
        }

        if (node is null)
        {
            throw new PortalNotFoundException("No linked node has that id; reload the list.");
        }

        if (!verify && node.TlsVerified)
        {
            refusal = $"The certificate of {node.Alias} has been verified, so verification stays on: turning it off would let anyone who can intercept the connection pose as the child.";
        }
        else if (verify && new Uri(node.BaseUrl).Scheme == Uri.UriSchemeHttp)
        {
            refusal = $"{node.Alias} is linked over plain http, which has no TLS to verify. Link it again over https.";
        }

        if (refusal is not null)
        {
            await audit.RecordAsync(actor, "node.tls", node.Alias, AuditOutcome.Refused, refusal, cancellationToken);
            throw new PortalValidationException(refusal, code: "link.tls_refused");
        }

        node.VerifyTls = verify;
        await db.SaveChangesAsync(cancellationToken);
        await audit.RecordAsync(actor, "node.tls", node.Alias, AuditOutcome.Succeeded, verify ? "Verification on." : "Verification off.", cancellationToken);
        var row = ToRow(node);
        updates.Publish(new LinkedNodeChange(node.Id, row));
        return row;
    }

    internal NodeEndpoint EndpointOf(LinkedNode node) =>
        new(new Uri(node.BaseUrl), node.AdminUserName, _tokens.Unprotect(node.ProtectedToken), node.VerifyTls);

    /// <summary>
    /// Normalises what an admin typed (a host name, host:port or a base URL) to a base URL. A bare IP address is
    /// refused: certificates name hosts, and a host name survives renumbering.
    /// </summary>
    internal static Uri? ParseAddress(string? address, bool allowInsecureHttp, List<string> problems)
    {
        var text = address?.Trim() ?? "";
        if (text.Length == 0)
        {
            problems.Add("Give the child's host name (child.example.com) or base URL (https://child.example.com:2087/).");
            return null;
        }

        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "https://" + text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || uri.Host.Length == 0)
        {
            problems.Add($"\"{address}\" is not a host name or an http(s) URL.");
            return null;
        }

        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || IPAddress.TryParse(uri.Host.Trim('[', ']'), out _))
        {
            problems.Add($"\"{uri.Host}\" is a bare IP address. Link the child by its host name (the name its TLS certificate carries).");
            return null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !allowInsecureHttp)
        {
            problems.Add("Plain http:// links are for development only; use https:// (the default when you give just a host name).");
            return null;
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            problems.Add("The address may not carry a query, a fragment or credentials; give the API token in its own field.");
            return null;
        }

        var path = uri.AbsolutePath.EndsWith('/') ? uri.AbsolutePath : uri.AbsolutePath + "/";
        return new UriBuilder(uri.Scheme, uri.Host, uri.Port, path).Uri;
    }

    private LinkedNodeRow ToRow(LinkedNode n) => ToRow(n, identity.Version);

    internal static LinkedNodeRow ToRow(LinkedNode n, NodeVersion parent)
    {
        string? versionWarning = null;
        if (NodeVersion.TryParse(n.Version, out var child) && child.Major != parent.Major)
        {
            versionWarning = $"Different major version from this parent ({parent})";
        }

        return new LinkedNodeRow(n.Id, n.Alias, n.BaseUrl, n.Name, n.Profile, n.Version, versionWarning, n.Purpose, n.VerifyTls, n.TlsVerified,
            n.Status, n.LastCheckAt, n.LastOnlineAt, n.LastError, n.MailFreeBytes, n.MailTotalBytes, n.LinkedAt);
    }

    private static void RequireAdmin(Actor actor)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins can see linked nodes.");
        }
    }
}
