namespace Portal.Features.Distribution;

/// <summary>The parent's domain steps of bringing an account's mail back from a child (see <see cref="MailReturnJob"/>).</summary>
internal sealed class MailReturnSteps(
    IDbContextFactory<PortalDbContext> dbFactory,
    MailService mail,
    MailStatePublisher mailState,
    DnsZoneService zones,
    DnsPublisher dns,
    NodeLinkService links,
    INodeApiClientFactory clients,
    NodeIdentityService identity,
    AccountOrderCache orders,
    ChildDeletionService deletions,
    MoveNotifier notifier,
    IOptions<PortalSettings> settings) : IMailReturnSteps
{
    public async Task<MailReturn> LoadAsync(Guid operationId, CancellationToken ct)
    {
        var (account, node) = await LoadRowsAsync(operationId, ct);
        if (node is null)
        {
            throw new InvalidOperationException("The child this mail comes back from is no longer linked; use forced dedistribution if it is lost.");
        }

        return new MailReturn(operationId, account.Username, account.Domain, settings.Value.MailRoot, links.EndpointOf(node), node.Alias);
    }

    public async Task<PreflightResult> PreflightAsync(MailReturn move, CancellationToken ct)
    {
        var (account, node) = await LoadRowsAsync(move.OperationId, ct);
        var (problems, warnings) = (new List<string>(), new List<string>());
        if (node is null)
        {
            problems.Add("The child is no longer linked; use forced dedistribution if it is lost.");
        }
        else if (account.MailNodeId != node.Id)
        {
            problems.Add(account.MailNodeId is null
                ? $"{account.Username}'s mail is already on this node."
                : $"{account.Username}'s mail is on {account.MailNodeAlias}, not {node.Alias}.");
        }
        else
        {
            // Messages of this account still here (mailboxes an earlier move could not verify) would be mixed with
            // what comes back, and removed with it if this failed: that move must be finished first. Files beside no
            // message are what Dovecot keeps about a mailbox (indexes, quota counts): the unpack puts them aside.
            var here = Maildir.Contents(move.MailRoot, move.Domain);
            if (here.Messages > 0)
            {
                problems.Add($"This node still holds {here.Messages} message(s) of {account.Domain} from an earlier move that did not verify (such as {string.Join(", ", here.Examples)} under {move.MailRoot}). Run that move again (Retry) so it finishes, or move those files away, then bring the mail back.");
            }
            else if (here.OtherFiles > 0)
            {
                warnings.Add($"This node kept {here.OtherFiles} file(s) Dovecot wrote about mailboxes of {account.Domain} (indexes, quota counts) and no message; they are put aside, and each mailbox's state comes back with its mail.");
            }

            try
            {
                var health = await clients.Create(links.EndpointOf(node)).GetHealthAsync(ct);
                var self = await identity.GetAsync(ct);
                if (!NodeVersion.TryParse(health.Version, out var version) || version.Major < self.Version.Major)
                {
                    problems.Add($"{node.Alias} runs Portal {health.Version}, older than this node's major version {self.Version.Major}; update it first.");
                }
            }
            catch (NodeApiException ex)
            {
                problems.Add($"{node.Alias} cannot be reached: {ex.Message} If the node is lost for good, force the dedistribution from its account list instead.");
            }
        }

        return new PreflightResult(problems, warnings);
    }

    public long FreeMailBytes() => MailDisk.Measure(settings.Value).Free;

    public async Task<bool> HasSwitchedAsync(MailReturn move, CancellationToken ct) =>
        (await LoadRowsAsync(move.OperationId, ct)).Account.MailNodeId is null;

    public async Task SwitchBackAsync(MailReturn move, MailConfiguration configuration, CancellationToken ct)
    {
        var (account, _) = await LoadRowsAsync(move.OperationId, ct);
        if (account.MailNodeId is not null)
        {
            // Pipes stay as the child had them (disabled since the account left): the owner turns them on again.
            await mail.ImportConfigurationAsync(account, configuration, disablePipes: false, ct, from: move.SourceAlias);
            MailSettingsCheck.EnsureKept(configuration, await mail.ExportConfigurationAsync(account, ct), "this node");
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var tracked = await db.Accounts.SingleAsync(a => a.Id == account.Id, ct);
            tracked.MailNodeId = null;
            tracked.MailNodeAlias = null;
            tracked.MailSettingsSnapshot = null; // the settings live here again
            await zones.SetMailAddressAsync(db, tracked.Id, settings.Value.Dns.PublicIPv4, ct);
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }

        // Also when the step runs again after the switch was committed (the first run stopped before it published:
        // killed, its database away): this node's Postfix and Dovecot must serve the domain before the child is told
        // to send what reaches it here, or the two relay it to each other until it bounces ("too many hops").
        orders.Invalidate();
        await mailState.RepublishAsync(ct);
        await dns.PublishAsync(account.Id, ct);

        // What still reaches the child (cached DNS, clients not yet reconnected) is proxied and relayed here.
        await clients.Create(move.Source).SetMailRedirectAsync(move.Username, settings.Value.Dns.PublicIPv4, ct);
    }

    public async Task<DateTimeOffset> ScheduleChildDeletionAsync(MailReturn move, long messages, long bytes, CancellationToken ct)
    {
        var (account, node) = await LoadRowsAsync(move.OperationId, ct);
        await RecordLastMailAsync(dbFactory, account.Id, messages, bytes, ct);

        return await deletions.ScheduleAsync(account.Username, account.Domain, node!.Id, node.Alias, move.OperationId, ct);
    }

    /// <summary>Keeps what a verification counted of an account's mail, for a forced dedistribution to show later.</summary>
    internal static async Task RecordLastMailAsync(IDbContextFactory<PortalDbContext> dbFactory, long accountId, long messages, long bytes, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Accounts.Where(a => a.Id == accountId).ExecuteUpdateAsync(u => u
            .SetProperty(a => a.LastMailMessages, messages)
            .SetProperty(a => a.LastMailBytes, bytes)
            .SetProperty(a => a.LastMailMeasuredAt, DateTimeOffset.UtcNow), ct);
    }

    public async Task AbandonAsync(MailReturn move, IReadOnlyList<string> localParts, CancellationToken ct)
    {
        var (account, _) = await LoadRowsAsync(move.OperationId, ct);
        if (account.MailNodeId is null)
        {
            return; // served here: nothing of this node's mail is touched
        }

        foreach (var local in localParts)
        {
            var mailbox = Maildir.MailboxPath(move.MailRoot, move.Domain, local);
            if (Directory.Exists(mailbox))
            {
                Directory.Delete(mailbox, recursive: true);
            }
        }

        Maildir.RemoveDomainFolderIfEmpty(move.MailRoot, move.Domain);
    }

    public Task NotifyAsync(Guid operationId, bool succeeded, string message, CancellationToken ct) =>
        notifier.NotifyAsync(operationId, succeeded, succeeded ? "Mail of {0} is back" : "Dedistribution of {0} needs attention", message, ct);

    private async Task<(Account Account, LinkedNode? Node)> LoadRowsAsync(Guid operationId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == operationId, ct);
        var parameters = MoveParameters.FromJson(operation.Parameters);
        var account = await db.Accounts.AsNoTracking().SingleAsync(a => a.Username == operation.Target, ct);
        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == parameters.NodeId, ct);
        return (account, node);
    }
}
