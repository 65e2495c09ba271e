namespace Portal.Features.Accounts;

/// <summary>
/// On a child: the twins of its parent's accounts whose mail is here. A parent creates, changes and deletes them
/// through the node API only (the child's own admins read them); what a parent sends is checked as any input is.
/// </summary>
public sealed class AccountTwins(
    IServiceScopeFactory scopes,
    IDbContextFactory<PortalDbContext> dbFactory,
    NodeIdentityService identity,
    IOptions<PortalSettings> settings,
    AuditLog audit,
    AccountOrderCache orders,
    MailStatePublisher mailState,
    TimeProvider clock)
{
    /// <summary>
    /// Whether <paramref name="username"/> is one of a parent's accounts with its mail here: its owner signs in on the
    /// parent, not here, and the sign-in page says so instead of only "wrong password".
    /// </summary>
    public async Task<bool> IsAParentsAccountAsync(string username, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Accounts.AnyAsync(a => a.Username == username && a.ParentNodeId != null, cancellationToken);
    }

    public async Task<AccountTwin> CreateTwinAsync(Actor parentActor, AccountTwin twin, CancellationToken cancellationToken = default)
    {
        var parent = await RequireParentAsync(identity, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var existing = await db.Accounts.SingleOrDefaultAsync(a => a.Username == twin.Username, cancellationToken);
        if (existing is { } same && same.ParentNodeId == parent.NodeId && same.Domain == twin.Domain)
        {
            return TwinOf(same); // a retried create: it is already here
        }

        var held = existing ?? await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.Domain == twin.Domain, cancellationToken);
        if (held is { ParentNodeId: { } former } && former != parent.NodeId)
        {
            throw new PortalConflictException(
                $"Node {settings.Value.NodeName} still holds {held.Username} ({held.Domain}) for a former parent; its admin releases it under Link Server Nodes (accounts of a former parent), then try again.",
                code: "account.held_by_former_parent");
        }

        if (existing is not null || await db.Accounts.AnyAsync(a => a.Domain == twin.Domain, cancellationToken))
        {
            throw new PortalConflictException($"Node {settings.Value.NodeName} already has an account named {twin.Username} or for {twin.Domain}.", code: "account.taken");
        }

        var account = new Account
        {
            Username = twin.Username,
            Domain = twin.Domain,
            ContactEmail = twin.ContactEmail,
            OwnerName = "root",
            Features = twin.Features.ToList(),
            Status = AccountSuspension.ParseStatus(twin.Status, $"The parent {parent.Name}"),
            ParentNodeId = parent.NodeId,
            CreatedAt = clock.GetUtcNow(),
        };
        db.Accounts.Add(account);
        await db.SaveChangesAsync(cancellationToken);
        orders.Invalidate();
        await mailState.RepublishAsync(cancellationToken);
        await audit.RecordAsync(parentActor, "account.twin.create", twin.Username, AuditOutcome.Succeeded, $"Twin of {parent.Name}'s account for {twin.Domain}.", cancellationToken);
        return TwinOf(account);
    }

    public async Task<AccountTwin> UpdateTwinAsync(Actor parentActor, AccountTwin twin, CancellationToken cancellationToken = default)
    {
        var parent = await RequireParentAsync(identity, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await FindTwinAsync(db, parent, settings.Value.NodeName, twin.Username, cancellationToken);
        var status = AccountSuspension.ParseStatus(twin.Status, $"The parent {parent.Name}");
        var suspending = account.Status == AccountStatus.Active && status == AccountStatus.Suspended;
        account.ContactEmail = twin.ContactEmail;
        account.Features = twin.Features.ToList();
        account.Status = status;
        await db.SaveChangesAsync(cancellationToken);
        orders.Invalidate();
        await mailState.RepublishAsync(cancellationToken);
        if (suspending && account.MailRedirectAddress is null)
        {
            await mailState.EndSessionsAsync(account.Id, cancellationToken);
        }

        await audit.RecordAsync(parentActor, "account.twin.modify", twin.Username, AuditOutcome.Succeeded, $"{account.Status}.", cancellationToken);
        return TwinOf(account);
    }

    public async Task<AccountTwin?> GetTwinAsync(string username, CancellationToken cancellationToken = default)
    {
        var parent = await RequireParentAsync(identity, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.Username == username && a.ParentNodeId == parent.NodeId, cancellationToken);
        return account is null ? null : TwinOf(account);
    }

    public async Task DeleteTwinAsync(Actor parentActor, string username, CancellationToken cancellationToken = default)
    {
        var parent = await RequireParentAsync(identity, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var deleted = await db.Accounts.Where(a => a.Username == username && a.ParentNodeId == parent.NodeId).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0)
        {
            orders.Invalidate();
            await mailState.RepublishAsync(cancellationToken);
            await audit.RecordAsync(parentActor, "account.twin.delete", username, AuditOutcome.Succeeded, null, cancellationToken);
        }
    }

    /// <summary>
    /// On a child: the twin's mail is served elsewhere from now on (its IMAP/POP3 proxied and SMTP relayed to
    /// <paramref name="address"/>), or here again when null. Its mail stays here until the twin is deleted.
    /// </summary>
    public async Task SetTwinMailRedirectAsync(Actor parentActor, string username, string? address, CancellationToken cancellationToken = default)
    {
        var parent = await RequireParentAsync(identity, cancellationToken);
        if (address is not null && !ReportedAddress.IsAcceptable(address))
        {
            throw new PortalValidationException($"\"{MailRules.Printable(address)}\" is not an IPv4 address; mail of {username} can only be sent on to a node's public address.", code: "mail.redirect_invalid");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await FindTwinAsync(db, parent, settings.Value.NodeName, username, cancellationToken);
        if (account.MailRedirectAddress == address)
        {
            // Asked again (the parent's step runs again after a failure or a restart): the servers are made to say
            // what the database says, in case the first request's publication did not get through.
            await mailState.RepublishAsync(cancellationToken);
            return;
        }

        account.MailRedirectAddress = address;
        if (address is null)
        {
            // Its mail is served here again: no deletion is due.
            account.KeptUntil = null;
        }

        await db.SaveChangesAsync(cancellationToken);
        await mailState.RepublishAsync(cancellationToken);
        await audit.RecordAsync(parentActor, "account.twin.mail-redirect", username, AuditOutcome.Succeeded,
            address is null ? "Mail is served here again." : $"Mail is proxied and relayed to {address}.", cancellationToken);
    }

    /// <summary>The furthest a parent may say it keeps a copy: its longest retention and postponement, with room to spare.</summary>
    public static readonly TimeSpan MaxKeptFor = TimeSpan.FromDays(800);

    /// <summary>
    /// On a child: when the parent deletes the twin's copy (shown on its page), or null for no date. A date the parent
    /// could not have set (before yesterday, or further than <see cref="MaxKeptFor"/>) is refused, as any input is.
    /// </summary>
    public async Task SetTwinKeptUntilAsync(Actor parentActor, string username, DateTimeOffset? until, CancellationToken cancellationToken = default)
    {
        var parent = await RequireParentAsync(identity, cancellationToken);
        var now = clock.GetUtcNow();
        if (until is { } date && (date < now.AddDays(-1) || date > now + MaxKeptFor))
        {
            throw new PortalValidationException($"{date:O} is not a date a copy of {username} can be kept until; give one between yesterday and {MaxKeptFor.TotalDays:0} days from now, or none.", code: "twin.kept_until_invalid");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await FindTwinAsync(db, parent, settings.Value.NodeName, username, cancellationToken);
        if (account.KeptUntil == until)
        {
            return;
        }

        account.KeptUntil = until?.ToUniversalTime();
        await db.SaveChangesAsync(cancellationToken);
        await audit.RecordAsync(parentActor, "account.twin.kept-until", username, AuditOutcome.Succeeded,
            until is { } due ? $"The parent deletes this copy at {due.UtcDateTime:yyyy-MM-dd HH:mm} UTC." : "The parent keeps this copy with no date.", cancellationToken);
    }

    public async Task<AccountExistence> ExistenceAsync(string username, string domain, CancellationToken cancellationToken = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var usernameTaken = await db.Accounts.AnyAsync(a => a.Username == username, cancellationToken) || await users.FindByNameAsync(username) is not null;
        var domainTaken = await db.Accounts.AnyAsync(a => a.Domain == domain, cancellationToken);
        var parentId = (await identity.GetAsync(cancellationToken)).Parent?.NodeId;
        var formerParents = await db.Accounts.AnyAsync(a => (a.Username == username || a.Domain == domain) && a.ParentNodeId != null && a.ParentNodeId != parentId, cancellationToken);
        return new AccountExistence(usernameTaken, domainTaken, formerParents);
    }

    /// <summary>This node's parent; refused on a node that has none (no parent may keep accounts here).</summary>
    internal static async Task<NodeParentInfo> RequireParentAsync(NodeIdentityService identity, CancellationToken ct)
    {
        var node = await identity.GetAsync(ct);
        return node.Parent ?? throw new PortalConflictException($"Node {node.Name} is not a child node: no parent may keep accounts here.", code: "node.not_child");
    }

    /// <summary>This parent's twin of <paramref name="username"/>, tracked for a change; not found names this node.</summary>
    internal static async Task<Account> FindTwinAsync(PortalDbContext db, NodeParentInfo parent, string nodeName, string username, CancellationToken ct) =>
        await db.Accounts.SingleOrDefaultAsync(a => a.Username == username && a.ParentNodeId == parent.NodeId, ct)
        ?? throw new PortalNotFoundException($"Node {nodeName} has no twin of account {username}.");

    internal static AccountTwin TwinOf(Account account) =>
        new(account.Username, account.Domain, account.ContactEmail, account.Features, account.Status.ToString());
}
