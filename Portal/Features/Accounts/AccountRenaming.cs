namespace Portal.Features.Accounts;

public sealed record AccountRename(string? NewUsername);

public sealed record AccountDomainChange(string? NewDomain);

/// <summary>
/// Renames an account's user name and changes its primary domain (admins any, resellers theirs), on this node and on
/// the child that holds its mail, as one change: the child first (nothing changes here if it refuses), then this node
/// in one transaction (the child's change is undone if that fails). Refused while a move or a termination runs.
/// </summary>
public sealed class AccountRenaming(
    IServiceScopeFactory scopes,
    IDbContextFactory<PortalDbContext> dbFactory,
    NodeIdentityService identity,
    NodeLinkService links,
    INodeApiClientFactory clients,
    DnsZoneService zones,
    DnsPublisher dns,
    DomainRules domainRules,
    MailService mail,
    MailStatePublisher mailState,
    AccountOrderCache orders,
    ApiTokenService tokens,
    AuditLog audit,
    IOptions<PortalSettings> settings,
    ILogger<AccountRenaming> logger)
{
    public async Task<AccountRow> RenameAsync(Actor actor, string username, AccountRename request, CancellationToken ct = default)
    {
        const string action = "account.rename";
        var newName = request.NewUsername?.Trim() ?? "";
        try
        {
            return await WithAccountAsync(actor, username, newName, async (db, users, account) =>
            {
                if (newName == account.Username)
                {
                    throw new PortalValidationException($"{username} already has that user name.", code: "account.rename_invalid");
                }

                if (!AccountNames.IsValid(newName))
                {
                    throw new PortalValidationException($"The new user name must be {AccountNames.Rule}.", code: "account.rename_invalid");
                }

                if (await users.FindByNameAsync(newName) is not null || await db.Accounts.AnyAsync(a => a.Username == newName, ct))
                {
                    throw new PortalConflictException($"The user name \"{newName}\" is taken on this node; choose another.", code: "account.taken");
                }

                await CheckChildrenAsync(c => c.CheckAccountAsync(newName, "name-check.invalid", ct), e => e.UsernameTaken, $"The user name \"{newName}\" is taken on child node {{0}}; choose another.", ct);
                var owner = account.UserId is { } ownerId ? await users.FindByIdAsync(ownerId) : null;
                var child = await ChildOfAsync(db, account, ct);
                if (child is not null)
                {
                    await OnChildAsync(child, account.Username, c => c.RenameAccountTwinAsync(account.Username, newName, ct), "renamed");
                }

                try
                {
                    account.Username = newName;
                    if (owner is not null)
                    {
                        Require(await users.SetUserNameAsync(owner, newName));
                        // Its sessions end: the owner signs in with the new name. Its API tokens go on working.
                        Require(await users.UpdateSecurityStampAsync(owner));
                    }

                    await db.SaveChangesAsync(ct);
                }
                catch when (child is not null)
                {
                    await UndoOnChildAsync(child, () => child.Client.RenameAccountTwinAsync(newName, username, CancellationToken.None));
                    throw;
                }

                return ($"{username} -> {newName}{(child is null ? "" : $", also on {child.Alias}")}.",
                    child is null ? null : () => UndoOnChildAsync(child, () => child.Client.RenameAccountTwinAsync(newName, username, CancellationToken.None)));
            }, action, ct);
        }
        finally
        {
            tokens.ForgetRecentChecks();
        }
    }

    public async Task<AccountRow> ChangeDomainAsync(Actor actor, string username, AccountDomainChange request, CancellationToken ct = default)
    {
        const string action = "account.domain";
        string? oldDomain = null, newDomain = null;
        var moved = false;
        IReadOnlyList<string> oldAddresses = [];
        var row = await WithAccountAsync(actor, username, username, async (db, _, account) =>
        {
            if (!DomainNames.TryNormalize(request.NewDomain, out var normalized, out var problem))
            {
                throw new PortalValidationException($"The domain of {username} was not changed: {problem}", code: "account.domain_invalid");
            }

            (oldDomain, newDomain) = (account.Domain, normalized);
            if (newDomain == oldDomain)
            {
                throw new PortalValidationException($"{username}'s domain is {DomainNames.ToUnicode(oldDomain)} already.", code: "account.domain_invalid");
            }

            if (await db.Accounts.AnyAsync(a => a.Domain == newDomain, ct))
            {
                throw new PortalConflictException($"The domain {DomainNames.ToUnicode(newDomain)} already belongs to an account on this node.", code: "account.taken");
            }

            if (await domainRules.ProblemsAsync(newDomain, account.OwnerName, ct) is { Count: > 0 } refused)
            {
                throw new PortalValidationException($"The domain of {username} was not changed: " + string.Join(" ", refused), refused, "account.domain_refused");
            }

            await CheckChildrenAsync(c => c.CheckAccountAsync("domaincheck", newDomain, ct), e => e.DomainTaken, $"The domain {DomainNames.ToUnicode(newDomain)} already belongs to an account on child node {{0}}.", ct);
            var child = await ChildOfAsync(db, account, ct);
            if (child is not null)
            {
                await OnChildAsync(child, account.Username, c => c.ChangeAccountTwinDomainAsync(account.Username, newDomain, ct), "moved to the new domain");
            }

            try
            {
                account.Domain = newDomain;
                if (account.MailSettingsSnapshot is { } kept)
                {
                    var configuration = JsonSerializer.Deserialize<MailConfiguration>(kept)!;
                    account.MailSettingsSnapshot = JsonSerializer.Serialize(MailService.ChangeDomain(configuration, oldDomain, newDomain));
                }

                oldAddresses = await db.EmailAccounts.Where(e => e.AccountId == account.Id).Select(e => e.Address).ToListAsync(ct);
                await MailService.ChangeDomainAsync(db, account.Id, oldDomain, newDomain, ct);
                var zone = await db.DnsZones.SingleAsync(z => z.AccountId == account.Id, ct);
                zone.Name = newDomain;
                await zones.SetMailAddressAsync(db, account.Id, child?.PublicIPv4 ?? settings.Value.Dns.PublicIPv4, ct);
                if (child is null)
                {
                    mail.MoveMailToDomain(oldDomain, newDomain);
                    moved = true;
                }

                await db.SaveChangesAsync(ct);
            }
            catch when (child is not null || moved)
            {
                if (moved)
                {
                    mail.MoveMailBack(oldDomain, newDomain);
                }

                if (child is not null)
                {
                    await UndoOnChildAsync(child, () => child.Client.ChangeAccountTwinDomainAsync(username, oldDomain, CancellationToken.None));
                }

                throw;
            }

            return ($"{DomainNames.ToUnicode(oldDomain)} -> {DomainNames.ToUnicode(newDomain)}{(child is null ? "" : $", its mail on {child.Alias}")}.", async () =>
            {
                if (moved)
                {
                    mail.MoveMailBack(oldDomain, newDomain);
                    moved = false;
                }

                if (child is not null)
                {
                    await UndoOnChildAsync(child, () => child.Client.ChangeAccountTwinDomainAsync(username, oldDomain, CancellationToken.None));
                }
            });
        }, action, ct);

        await mailState.RepublishAsync(ct);
        if (moved)
        {
            // Sessions opened with the old addresses would go on reading folders that moved.
            await mailState.EndSessionsAsync(oldAddresses, ct);
            var brought = mail.FinishDomainMove(oldDomain!, newDomain!);
            if (brought > 0)
            {
                logger.LogInformation("{Count} message(s) delivered to {Old} during its change to {New} joined their mailboxes", brought, oldDomain, newDomain);
            }
        }

        await PublishZoneAsync(row, oldDomain!, ct);
        return row;
    }

    // --- the child's side ---

    public async Task<AccountTwin> RenameTwinAsync(Actor parentActor, string username, string newUsername, CancellationToken ct = default)
    {
        var parent = await AccountTwins.RequireParentAsync(identity, ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var twin = await db.Accounts.SingleOrDefaultAsync(a => a.Username == username && a.ParentNodeId == parent.NodeId, ct);
        if (twin is null && await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.Username == newUsername && a.ParentNodeId == parent.NodeId, ct) is { } done)
        {
            return AccountTwins.TwinOf(done); // asked again after it was made
        }

        if (twin is null)
        {
            throw new PortalNotFoundException($"Node {settings.Value.NodeName} has no twin of account {username}.");
        }

        if (!AccountNames.IsValid(newUsername))
        {
            throw new PortalValidationException($"\"{MailRules.Printable(newUsername ?? "")}\" is not a user name Portal accepts; nothing was changed.", code: "account.rename_invalid");
        }

        if (await db.Accounts.AnyAsync(a => a.Username == newUsername, ct))
        {
            throw new PortalConflictException($"Node {settings.Value.NodeName} already has an account named {newUsername}.", code: "account.taken");
        }

        twin.Username = newUsername;
        await db.SaveChangesAsync(ct);
        orders.Invalidate();
        await audit.RecordAsync(parentActor, "account.twin.rename", newUsername, AuditOutcome.Succeeded, $"Was {username}.", ct);
        return AccountTwins.TwinOf(twin);
    }

    public async Task<AccountTwin> ChangeTwinDomainAsync(Actor parentActor, string username, string newDomain, CancellationToken ct = default)
    {
        var parent = await AccountTwins.RequireParentAsync(identity, ct);
        // Another node's input: a domain as Portal writes it (ASCII, lowercase), nothing else.
        if (!DomainNames.TryNormalize(newDomain, out var normalized, out _) || normalized != newDomain || !MailRules.IsDomain(newDomain))
        {
            throw new PortalValidationException($"\"{MailRules.Printable(newDomain ?? "")}\" is not a domain Portal accepts; nothing was changed.", code: "account.domain_invalid");
        }

        string oldDomain;
        IReadOnlyList<string> oldAddresses;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var twin = await AccountTwins.FindTwinAsync(db, parent, settings.Value.NodeName, username, ct);
            if (twin.Domain == newDomain)
            {
                return AccountTwins.TwinOf(twin); // asked again after it was made
            }

            if (await db.Accounts.AnyAsync(a => a.Domain == newDomain, ct))
            {
                throw new PortalConflictException($"Node {settings.Value.NodeName} already has an account for {newDomain}.", code: "account.taken");
            }

            oldDomain = twin.Domain;
            oldAddresses = await db.EmailAccounts.Where(e => e.AccountId == twin.Id).Select(e => e.Address).ToListAsync(ct);
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            twin.Domain = newDomain;
            await MailService.ChangeDomainAsync(db, twin.Id, oldDomain, newDomain, ct);
            mail.MoveMailToDomain(oldDomain, newDomain);
            try
            {
                await db.SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
            }
            catch
            {
                mail.MoveMailBack(oldDomain, newDomain);
                throw;
            }
        }

        orders.Invalidate();
        await mailState.RepublishAsync(ct);
        await mailState.EndSessionsAsync(oldAddresses, ct);
        mail.FinishDomainMove(oldDomain, newDomain);
        await audit.RecordAsync(parentActor, "account.twin.domain", username, AuditOutcome.Succeeded, $"{oldDomain} -> {newDomain}.", ct);
        await using var read = await dbFactory.CreateDbContextAsync(ct);
        return AccountTwins.TwinOf(await read.Accounts.AsNoTracking().SingleAsync(a => a.Username == username && a.ParentNodeId == parent.NodeId, ct));
    }

    // --- shared ---

    private sealed record ChildNode(string Alias, string? PublicIPv4, NodeApiClient Client);

    /// <summary>
    /// Finds the account (visible to the actor, not a twin, no move or termination running, under the move lock of its
    /// old and new names), runs the change inside one transaction, audits it, and returns the account as it is now.
    /// The change returns what it did for the audit log, and how to undo what it did outside the database (on the
    /// child, in the mail folder) should the commit fail.
    /// </summary>
    private async Task<AccountRow> WithAccountAsync(Actor actor, string username, string newName,
        Func<PortalDbContext, UserManager<PortalUser>, Account, Task<(string Detail, Func<Task>? Undo)>> change, string action, CancellationToken ct)
    {
        try
        {
            if (!actor.ManagesAccounts)
            {
                throw new PortalForbiddenException("Only admins and resellers rename accounts or change their domain; ask your provider.");
            }

            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            foreach (var name in new[] { username, newName }.Distinct().Order(StringComparer.Ordinal))
            {
                await AccountWork.LockAsync(db, name, ct);
            }

            var account = await AccountAccess.FindVisibleAsync(db, actor, username, ct);
            if (account.IsTwin)
            {
                throw AccountAccess.ChangedOnTheParent(username);
            }

            var busy = await AccountWork.UnderWayAsync(db, username, ct);
            if (busy is not null)
            {
                throw new PortalConflictException(busy.IsTermination
                    ? $"Account {username} is being terminated."
                    : $"A move of {username}'s mail is under way; change it once the move has ended: /admin/operations/{busy.Id}.", code: "move.in_progress");
            }

            var (detail, undo) = await change(db, users, account);
            try
            {
                await transaction.CommitAsync(ct);
            }
            catch when (undo is not null)
            {
                await undo();
                throw;
            }

            orders.Invalidate();
            await audit.RecordAsync(actor, action, username, AuditOutcome.Succeeded, detail, ct);
            return AccountRow.From(account);
        }
        catch (PortalException ex) when (ex.IsRefusal)
        {
            await audit.RecordAsync(actor, action, username, AuditOutcome.Refused, ex.Message, ct);
            throw;
        }
    }

    private async Task<ChildNode?> ChildOfAsync(PortalDbContext db, Account account, CancellationToken ct)
    {
        if (account.MailNodeId is not { } nodeId)
        {
            return null;
        }

        var node = await db.LinkedNodes.AsNoTracking().SingleAsync(n => n.Id == nodeId, ct);
        return new ChildNode(node.Alias, node.PublicIPv4, clients.Create(links.EndpointOf(node)));
    }

    private static async Task OnChildAsync(ChildNode child, string username, Func<NodeApiClient, Task> change, string what)
    {
        try
        {
            await change(child.Client);
        }
        catch (NodeApiException ex)
        {
            throw new PortalConflictException($"Nothing was changed: the copy of {username} on {child.Alias}, which holds its mail, could not be {what} ({ex.Message}). Try again when it is online.", code: "account.child_failed");
        }
    }

    private async Task UndoOnChildAsync(ChildNode child, Func<Task> undo)
    {
        try
        {
            await undo();
        }
        catch (NodeApiException ex)
        {
            logger.LogError(ex, "The change on {Node} could not be undone after this node's change failed; the account there needs an admin", child.Alias);
        }
    }

    private async Task CheckChildrenAsync(Func<NodeApiClient, Task<AccountExistence>> ask, Func<AccountExistence, bool> taken, string message, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        foreach (var node in await db.LinkedNodes.AsNoTracking().ToListAsync(ct))
        {
            try
            {
                if (taken(await ask(clients.Create(links.EndpointOf(node)))))
                {
                    throw new PortalConflictException(string.Format(CultureInfo.InvariantCulture, message, node.Alias), code: "account.taken");
                }
            }
            catch (NodeApiException ex)
            {
                logger.LogWarning("Child node {Alias} could not be asked whether a name is free there: {Reason}", node.Alias, ex.Message);
            }
        }
    }

    private async Task PublishZoneAsync(AccountRow row, string oldDomain, CancellationToken ct)
    {
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var id = await db.Accounts.Where(a => a.Username == row.Username).Select(a => a.Id).SingleAsync(ct);
            // The old zone's removal is recorded before it is tried: a DNS server away now loses it within a minute of coming back.
            await dns.RemoveZoneAsync(oldDomain, ct);
            await dns.PublishAsync(id, ct);
        }
        catch (Exception ex) when ((ex is InvalidOperationException or HttpRequestException or TaskCanceledException) && !ct.IsCancellationRequested)
        {
            // The new zone is published by the minute's job; the old one is named in the log for its removal.
            logger.LogWarning(ex, "The zone change of {Account} from {Old} could not be published yet", row.Username, oldDomain);
        }
    }

    private static void Require(IdentityResult result)
    {
        if (!result.Succeeded)
        {
            throw new PortalValidationException("The account was not renamed: " + string.Join(" ", result.Errors.Select(e => e.Description)), code: "account.rename_invalid");
        }
    }
}
