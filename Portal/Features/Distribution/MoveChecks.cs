namespace Portal.Features.Distribution;

/// <summary>
/// The preflight of moving an account's mail to a child: every problem found at once, before anything changes. Run
/// when an admin asks for the move (to answer at once) and again as the move's first step.
/// </summary>
public sealed class MoveChecks(MailService mail, NodeLinkService links, INodeApiClientFactory clients, NodeIdentityService identity, IOptions<PortalSettings> settings)
{
    public async Task<PreflightResult> CheckAsync(Account account, LinkedNode? node, CancellationToken ct)
    {
        var problems = new List<string>();
        var warnings = new List<string>();
        if (account.IsTwin)
        {
            problems.Add($"{account.Username} is a twin of a parent's account; move it on the parent.");
        }

        if (account.MailNodeId is not null)
        {
            problems.Add($"{account.Username}'s mail is already on {account.MailNodeAlias}.");
        }

        problems.AddRange(MailOnAChild.Problems(account));

        var (messages, bytes) = await mail.MeasureAsync(account, ct);
        await CheckTargetAsync(node, bytes, problems, ct);

        var pipes = (await mail.ListForwardersAsync(account, ct)).Where(f => f.IsPipe).ToList();
        if (pipes.Count > 0)
        {
            warnings.Add($"{pipes.Count} forwarder(s) pipe to a program ({string.Join(", ", pipes.Select(p => $"{p.Source} |{p.Destination}"))}); on the mail node they are disabled, as forwarding to programs is not supported there.");
        }

        return new PreflightResult(problems, warnings, [$"The account holds {messages} message(s), {Units.Bytes(bytes)}."]);
    }

    /// <summary>The preflight of moving an account's mail from the child it is on to another child.</summary>
    public async Task<PreflightResult> CheckRelayAsync(Account account, LinkedNode? source, LinkedNode? target, long bytes, CancellationToken ct)
    {
        var problems = new List<string>();
        if (source is null || account.MailNodeId != source.Id)
        {
            problems.Add($"{account.Username}'s mail is not on {source?.Alias ?? "that node"} any more.");
        }

        if (target is not null && target.Id == source?.Id)
        {
            problems.Add($"{account.Username}'s mail is already on {target.Alias}.");
        }

        problems.AddRange(MailOnAChild.Problems(account));

        await CheckTargetAsync(target, bytes, problems, ct);
        return new PreflightResult(problems, [], [$"The account holds {Units.Bytes(bytes)} of mail on {source?.Alias}."]);
    }

    /// <summary>The target must be a linked mail node, reachable, not older, serving mail, with room and an address.</summary>
    private async Task CheckTargetAsync(LinkedNode? node, long bytes, List<string> problems, CancellationToken ct)
    {
        if (node is null)
        {
            problems.Add("That node is not linked to this one (it may have been unlinked); choose a linked mail node.");
            return;
        }

        if (node.Purpose != LinkPurpose.Mail)
        {
            problems.Add($"{node.Alias} is not linked as a mail node.");
        }

        try
        {
            var health = await clients.Create(links.EndpointOf(node)).GetHealthAsync(ct);
            var self = await identity.GetAsync(ct);
            if (!NodeVersion.TryParse(health.Version, out var version) || version.Major < self.Version.Major)
            {
                problems.Add($"{node.Alias} runs Portal {health.Version}, older than this node's major version {self.Version.Major}; update it first.");
            }

            if (!Enum.TryParse<ServerProfile>(health.Profile, out var profile) || !ServerProfiles.RolesOf(profile).HasFlag(NodeRoles.MailReceive))
            {
                problems.Add($"{node.Alias} uses the {health.Profile} profile, which does not serve mail; set it to Mail or Standard.");
            }

            var margin = (long)(bytes * settings.Value.Distribution.DiskMarginPercent / 100.0) + settings.Value.Distribution.DiskMarginMegabytes * 1024L * 1024;
            if (health.MailFreeBytes < bytes + margin)
            {
                problems.Add($"{node.Alias} has {Units.Bytes(health.MailFreeBytes)} free on its mail partition; the account's mail takes {Units.Bytes(bytes)} and the move keeps {Units.Bytes(margin)} spare. Free space there, or choose another node.");
            }

            if (health.PublicIPv4 is null)
            {
                problems.Add($"{node.Alias} does not say its public address (Portal:Dns:PublicIPv4 there), which the account's DNS records need.");
            }
        }
        catch (NodeApiException ex)
        {
            problems.Add($"{node.Alias} cannot be reached: {ex.Message}");
        }
    }
}
