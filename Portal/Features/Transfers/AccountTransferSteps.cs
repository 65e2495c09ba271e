namespace Portal.Features.Transfers;

/// <summary>This node's side of a transfer (see <see cref="AccountTransferJob"/>).</summary>
internal sealed class AccountTransferSteps(
    IDbContextFactory<PortalDbContext> dbFactory,
    TransferService transfers,
    AccountService accounts,
    MailService mail,
    IServiceScopeFactory scopes,
    MoveNotifier notifier,
    DistributionService distribution,
    IOptions<PortalSettings> settings) : IAccountTransferSteps
{
    public async Task<AccountTransfer> LoadAsync(Guid operationId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == operationId, ct);
        return new AccountTransfer(operationId, operation.Target!, settings.Value.MailRoot,
            transfers.EndpointOf(operation.Parameters ?? throw new InvalidOperationException("The transfer has no parameters.")));
    }

    public async Task<PreflightResult> PreflightAsync(AccountTransfer transfer, AccountExport export, CancellationToken ct) =>
        new(await transfers.ProblemsAsync(export, ct), []);

    public async Task ImportAsync(AccountTransfer transfer, AccountExport export, CancellationToken ct)
    {
        var requester = await RequesterAsync(transfer.OperationId, ct);
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            // A repeated step finds the account it made (the preflight refused the name if it was taken before).
            if (!await db.Accounts.AnyAsync(a => a.Username == export.Account.Username && a.Domain == export.Account.Domain, ct))
            {
                await accounts.CreateAsync(requester, new NewAccount(export.Account.Username, export.Account.Domain, export.Account.ContactEmail,
                    MailRouting: MailRouting.Local, Features: export.Account.Features, Ipv6Enabled: export.Ipv6Enabled), ct);
            }
        }

        await using (var scope = scopes.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            if (export.OwnerPasswordHash is { } hash && await users.FindByNameAsync(export.Account.Username) is { } owner && owner.PasswordHash != hash)
            {
                // The owner signs in here with the password they had there (the hash moves, never a password).
                owner.PasswordHash = hash;
                await users.UpdateSecurityStampAsync(owner);
                await users.UpdateAsync(owner);
            }
        }

        if (AccountSuspension.ParseStatus(export.Account.Status, transfer.Source.BaseUrl.Host) is var status && status != AccountStatus.Active)
        {
            await accounts.ModifyAsync(requester, export.Account.Username,
                new AccountChange(Status: status, SuspensionReason: $"Suspended on {transfer.Source.BaseUrl.Host} before it was transferred here."), ct);
        }

        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var account = await db.Accounts.AsNoTracking().SingleAsync(a => a.Username == export.Account.Username, ct);
            await mail.ImportConfigurationAsync(account, export.Mail, disablePipes: false, ct, from: transfer.Source.BaseUrl.Host);
        }
    }

    public Task NotifyAsync(Guid operationId, bool succeeded, string message, CancellationToken ct) =>
        notifier.NotifyAsync(operationId, succeeded, succeeded ? "{0} transferred here" : "Transfer of {0} needs attention", message, ct);

    public async Task<string?> PlaceMailAsync(AccountTransfer transfer, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == transfer.OperationId, ct);
        if (JsonSerializer.Deserialize<TransferParameters>(operation.Parameters!)!.MailNodeId is not { } nodeId)
        {
            return null;
        }

        // A repeated step finds the move it started (or the mail already there).
        var account = await db.Accounts.AsNoTracking().SingleAsync(a => a.Username == transfer.Username, ct);
        if (account.MailNodeId == nodeId)
        {
            return $"Its mail is on {account.MailNodeAlias}.";
        }

        try
        {
            var move = await distribution.MoveMailAsync(await RequesterAsync(transfer.OperationId, ct), transfer.Username, nodeId, ct);
            return $"Its mail now moves to the chosen mail node: /admin/operations/{move}.";
        }
        catch (PortalException ex) when (ex.IsRefusal)
        {
            return $"Its mail stays here for now: the move to the chosen mail node was refused ({ex.Message}). Move it from the account's page.";
        }
    }

    /// <summary>The admin who asked, acting through the job.</summary>
    private async Task<Actor> RequesterAsync(Guid operationId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == operationId, ct);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, operation.RequestedBy), new Claim(ClaimTypes.Role, PortalRoles.Admin)], "transfer");
        return new Actor(operation.RequestedById, $"{operation.RequestedBy} (transfer)", null, new ClaimsPrincipal(identity));
    }
}
