namespace Portal.Features.Distribution;

/// <summary>The parent's domain steps of moving an account's mail to a child (see <see cref="MailCopyJob"/>).</summary>
internal sealed class MailMoveSteps(
    IDbContextFactory<PortalDbContext> dbFactory,
    MoveChecks checks,
    MailService mail,
    MailStatePublisher mailState,
    MailServerAdapter mailServers,
    DnsZoneService zones,
    DnsPublisher dns,
    NodeLinkService links,
    INodeApiClientFactory clients,
    AccountOrderCache orders,
    MoveNotifier notifier,
    MailCertificates certificates,
    IOptions<PortalSettings> settings) : IMailMoveSteps
{
    public async Task<MailMove> LoadAsync(Guid operationId, CancellationToken ct)
    {
        var (account, node, _) = await LoadRowsAsync(operationId, ct);
        return new MailMove(operationId, account.Username, account.Domain, await mail.LocalPartsAsync(account, ct), settings.Value.MailRoot,
            links.EndpointOf(node ?? throw new InvalidOperationException("The move's mail node is no longer linked.")), node.Alias);
    }

    public async Task<PreflightResult> PreflightAsync(MailMove move, CancellationToken ct)
    {
        var (account, node, _) = await LoadRowsAsync(move.OperationId, ct);
        return await checks.CheckAsync(account, node, ct);
    }

    public async Task<string?> EnsureTwinAsync(MailMove move, CancellationToken ct)
    {
        var (account, _, _) = await LoadRowsAsync(move.OperationId, ct);
        var child = clients.Create(move.Target);
        if (await child.GetAccountTwinAsync(account.Username, ct) is null)
        {
            await child.CreateAccountTwinAsync(new AccountTwin(account.Username, account.Domain, account.ContactEmail, account.Features, account.Status.ToString()), ct);
        }

        var sent = await mail.ExportConfigurationAsync(account, ct);
        await child.ImportMailConfigurationAsync(account.Username, new MailConfigurationImport(sent, DisablePipes: true), ct);
        MailSettingsCheck.EnsureKept(sent, await child.ExportMailConfigurationAsync(account.Username, ct), move.TargetAlias);
        // Before the switch: mail clients that follow mail.<domain> there find the account's certificate.
        return await certificates.SendAsync(account.Username, child, move.TargetAlias, ct);
    }

    public async Task<bool> HasSwitchedAsync(MailMove move, CancellationToken ct)
    {
        var (account, _, parameters) = await LoadRowsAsync(move.OperationId, ct);
        return account.MailNodeId == parameters.NodeId;
    }

    public async Task SwitchAsync(MailMove move, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == move.OperationId, ct);
        var parameters = MoveParameters.FromJson(operation.Parameters);
        var node = await db.LinkedNodes.AsNoTracking().SingleAsync(n => n.Id == parameters.NodeId, ct);
        var account = await db.Accounts.SingleAsync(a => a.Username == move.Username, ct);
        // The child may keep this account's copy from an earlier stay (mail sent on elsewhere): it serves it again.
        await clients.Create(move.Target).SetMailRedirectAsync(move.Username, null, ct);
        var (messages, bytes) = await mail.MeasureAsync(account, ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        account.MailNodeId = node.Id;
        account.MailNodeAlias = node.Alias;
        account.LastMailMessages = messages;
        account.LastMailBytes = bytes;
        account.LastMailMeasuredAt = DateTimeOffset.UtcNow;
        await zones.SetMailAddressAsync(db, account.Id, node.PublicIPv4 ?? throw new InvalidOperationException($"{node.Alias} has no public address."), ct);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        orders.Invalidate();
        // From here the parent proxies IMAP/POP3 and relays SMTP for the domain to the child, and the DNS server
        // answers the child's address (a failure fails this step, which is retried).
        await mailState.RepublishAsync(ct);
        await dns.PublishAsync(account.Id, ct);
    }

    public async Task<IReadOnlyList<string>> EndSessionsAsync(MailMove move, CancellationToken ct)
    {
        var ended = new List<string>();
        foreach (var local in move.LocalParts)
        {
            var result = await mailServers.EndSessionsAsync($"{local}@{move.Domain}", ct);
            if (result.Ran)
            {
                ended.Add(result.Address);
            }
        }

        return ended;
    }

    public Task RemoveLocalMailboxAsync(MailMove move, string localPart, CancellationToken ct)
    {
        // Out of service at once; the files go when the move has ended (MailCopyJob empties the trash).
        MailTrash.Discard(move.MailRoot, Maildir.MailboxPath(move.MailRoot, move.Domain, localPart));
        return Task.CompletedTask;
    }

    public async Task FinishAsync(MailMove move, CancellationToken ct)
    {
        var (account, _, _) = await LoadRowsAsync(move.OperationId, ct);
        await MailFunctions.RememberSettingsAsync(dbFactory, account.Id, await mail.ExportConfigurationAsync(account, ct), ct);
        await mail.ForgetConfigurationAsync(account, ct);
        Maildir.RemoveDomainFolderIfEmpty(move.MailRoot, move.Domain);
    }

    public Task AbandonAsync(MailMove move, CancellationToken ct) =>
        clients.Create(move.Target).RemoveAccountTwinWithMailAsync(move.Username, ct);

    public Task NotifyAsync(Guid operationId, bool succeeded, string message, CancellationToken ct) =>
        notifier.NotifyAsync(operationId, succeeded, succeeded ? "Mail of {0} moved" : "Mail move of {0} needs attention", message, ct);

    private async Task<(Account Account, LinkedNode? Node, MoveParameters Parameters)> LoadRowsAsync(Guid operationId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == operationId, ct);
        var parameters = MoveParameters.FromJson(operation.Parameters);
        var account = await db.Accounts.AsNoTracking().SingleAsync(a => a.Username == operation.Target, ct);
        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == parameters.NodeId, ct);
        return (account, node, parameters);
    }
}
