namespace Portal.Features.Distribution;

/// <summary>The parent's domain steps of moving an account's mail from one child to another (see <see cref="MailRelayJob"/>).</summary>
internal sealed class MailRelaySteps(
    IDbContextFactory<PortalDbContext> dbFactory,
    MoveChecks checks,
    MailStatePublisher mailState,
    DnsZoneService zones,
    DnsPublisher dns,
    NodeLinkService links,
    INodeApiClientFactory clients,
    AccountOrderCache orders,
    ChildDeletionService deletions,
    MoveNotifier notifier,
    MailCertificates certificates) : IMailRelaySteps
{
    public async Task<MailRelay> LoadAsync(Guid operationId, CancellationToken ct)
    {
        var (account, source, target) = await LoadRowsAsync(operationId, ct);
        if (source is null || target is null)
        {
            throw new InvalidOperationException("One of the two children of this move is no longer linked.");
        }

        return new MailRelay(operationId, account.Username, account.Domain, links.EndpointOf(source), source.Alias, links.EndpointOf(target), target.Alias);
    }

    public async Task<PreflightResult> PreflightAsync(MailRelay move, long mailBytes, CancellationToken ct)
    {
        var (account, source, target) = await LoadRowsAsync(move.OperationId, ct);
        return await checks.CheckRelayAsync(account, source, target, mailBytes, ct);
    }

    public async Task<string?> EnsureTwinAsync(MailRelay move, MailConfiguration configuration, CancellationToken ct)
    {
        var (account, _, _) = await LoadRowsAsync(move.OperationId, ct);
        var target = clients.Create(move.Target);
        if (await target.GetAccountTwinAsync(account.Username, ct) is null)
        {
            await target.CreateAccountTwinAsync(new AccountTwin(account.Username, account.Domain, account.ContactEmail, account.Features, account.Status.ToString()), ct);
        }

        await target.ImportMailConfigurationAsync(account.Username, new MailConfigurationImport(configuration, DisablePipes: true), ct);
        MailSettingsCheck.EnsureKept(configuration, await target.ExportMailConfigurationAsync(account.Username, ct), move.TargetAlias);
        await MailFunctions.RememberSettingsAsync(dbFactory, account.Id, configuration, ct);
        return await certificates.SendAsync(account.Username, target, move.TargetAlias, ct);
    }

    public async Task<bool> HasSwitchedAsync(MailRelay move, CancellationToken ct)
    {
        var (account, _, target) = await LoadRowsAsync(move.OperationId, ct);
        return target is not null && account.MailNodeId == target.Id;
    }

    public async Task SwitchAsync(MailRelay move, CancellationToken ct)
    {
        var (row, _, target) = await LoadRowsAsync(move.OperationId, ct);
        // The target may keep a copy from an earlier stay that sent its mail on: it serves the mail again.
        await clients.Create(move.Target).SetMailRedirectAsync(move.Username, null, ct);
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var account = await db.Accounts.SingleAsync(a => a.Username == move.Username, ct);
            account.MailNodeId = target!.Id;
            account.MailNodeAlias = target.Alias;
            await zones.SetMailAddressAsync(db, account.Id, target.PublicIPv4 ?? throw new InvalidOperationException($"{target.Alias} has no public address."), ct);
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }

        orders.Invalidate();
        await mailState.RepublishAsync(ct);
        await dns.PublishAsync(row.Id, ct);
        await clients.Create(move.Source).SetMailRedirectAsync(move.Username, target.PublicIPv4, ct);
    }

    public async Task<DateTimeOffset> ScheduleSourceDeletionAsync(MailRelay move, long messages, long bytes, CancellationToken ct)
    {
        var (account, source, _) = await LoadRowsAsync(move.OperationId, ct);
        await MailReturnSteps.RecordLastMailAsync(dbFactory, account.Id, messages, bytes, ct);

        return await deletions.ScheduleAsync(account.Username, account.Domain, source!.Id, source.Alias, move.OperationId, ct);
    }

    public Task AbandonAsync(MailRelay move, CancellationToken ct) =>
        clients.Create(move.Target).RemoveAccountTwinWithMailAsync(move.Username, ct);

    public Task NotifyAsync(Guid operationId, bool succeeded, string message, CancellationToken ct) =>
        notifier.NotifyAsync(operationId, succeeded, succeeded ? "Mail of {0} moved" : "Mail move of {0} needs attention", message, ct);

    private async Task<(Account Account, LinkedNode? Source, LinkedNode? Target)> LoadRowsAsync(Guid operationId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == operationId, ct);
        var parameters = MoveParameters.FromJson(operation.Parameters);
        var account = await db.Accounts.AsNoTracking().SingleAsync(a => a.Username == operation.Target, ct);
        var source = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == parameters.FromNodeId, ct);
        var target = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == parameters.NodeId, ct);
        return (account, source, target);
    }
}
