namespace Portal.Features.Mail;

/// <summary>
/// An account's mail functions wherever its mail lives: here, or on the child that serves it, which the parent calls
/// over the node API on the user's behalf (the child checks the address belongs to the account). Pages and the API
/// use this, so both work the same for local and distributed accounts.
/// </summary>
public sealed class MailFunctions(
    IDbContextFactory<PortalDbContext> dbFactory,
    MailService local,
    MailStatePublisher publisher,
    NodeLinkService links,
    INodeApiClientFactory clients,
    AuditLog audit,
    IOptions<PortalSettings> settings,
    ILogger<MailFunctions> logger)
{
    public async Task<IReadOnlyList<EmailAccountRow>> ListAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return node is null ? await local.ListAsync(account, ct) : await RemoteAsync(node, (c, t) => c.ListMailAddressesAsync(username, t), ct);
    }

    /// <summary>A page of the account's mailboxes, wherever they are (the child filters and pages its own).</summary>
    public async Task<MailPage<EmailAccountRow>> PageAsync(Actor actor, string username, MailListQuery query, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        query = query.Normalized();
        return node is null ? await local.PageAsync(account, query, ct) : await RemoteAsync(node, (c, t) => c.PageMailAddressesAsync(username, query, t), ct);
    }

    public async Task<MailPage<ForwarderRow>> PageForwardersAsync(Actor actor, string username, MailListQuery query, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        query = query.Normalized();
        return node is null ? await local.PageForwardersAsync(account, query, ct) : await RemoteAsync(node, (c, t) => c.PageForwardersAsync(username, query, t), ct);
    }

    public async Task<EmailAccountRow> CreateAsync(Actor actor, string username, NewEmailAccount request, CancellationToken ct = default)
    {
        var (account, node) = await ResolveForChangeAsync(actor, username, AccountFeatures.Email, "email.create", ct);
        await CheckMailboxLimitAsync(actor, account, node, ct);
        await CheckAccountLimitAsync(actor, account, node, "email.create", null, request.QuotaMegabytes ?? settings.Value.Mail.DefaultQuotaMegabytes, ct);
        return node is null ? await local.CreateAsync(actor, account, request, ct) : await ChangeRemoteAsync(actor, "email.create", $"{request.LocalPart?.Trim().ToLowerInvariant()}@{account.Domain}", account, node, (c, t) => c.CreateMailAddressAsync(username, request, t), ct);
    }

    public async Task DeleteAsync(Actor actor, string username, string address, CancellationToken ct = default)
    {
        var (account, node) = await ResolveForChangeAsync(actor, username, AccountFeatures.Email, "email.delete", ct);
        if (node is null)
        {
            await local.DeleteAsync(actor, account, address, ct);
        }
        else
        {
            await ChangeRemoteAsync(actor, "email.delete", address, account, node, async (c, t) => { await c.DeleteMailAddressAsync(username, address, t); return true; }, ct, Without(address, account.Domain));
        }
    }

    public async Task ChangePasswordAsync(Actor actor, string username, string address, string password, CancellationToken ct = default)
    {
        var (account, node) = await ResolveForChangeAsync(actor, username, AccountFeatures.Email, "email.password", ct);
        if (node is null)
        {
            await local.ChangePasswordAsync(actor, account, address, password, ct);
        }
        else
        {
            await ChangeRemoteAsync(actor, "email.password", address, account, node, async (c, t) => { await c.ChangeMailPasswordAsync(username, address, new PasswordChange(password), t); return true; }, ct,
                WithPassword(address, account.Domain, password));
        }
    }

    public async Task ChangeQuotaAsync(Actor actor, string username, string address, int quotaMegabytes, CancellationToken ct = default)
    {
        var (account, node) = await ResolveForChangeAsync(actor, username, AccountFeatures.Email, "email.quota", ct);
        await CheckAccountLimitAsync(actor, account, node, "email.quota", address, quotaMegabytes, ct);
        if (node is null)
        {
            await local.ChangeQuotaAsync(actor, account, address, quotaMegabytes, ct);
        }
        else
        {
            await ChangeRemoteAsync(actor, "email.quota", address, account, node, async (c, t) => { await c.ChangeMailQuotaAsync(username, address, new QuotaChange(quotaMegabytes), t); return true; }, ct);
        }
    }

    public async Task<MailboxSieve> GetSieveAsync(Actor actor, string username, string address, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return node is null ? await local.GetSieveAsync(account, address, ct) : await RemoteAsync(node, (c, t) => c.GetMailSieveAsync(username, address, t), ct);
    }

    public async Task<MailboxSieve> SetSieveAsync(Actor actor, string username, string address, MailboxSieve sieve, CancellationToken ct = default)
    {
        var (account, node) = await ResolveForChangeAsync(actor, username, AccountFeatures.Email, "email.sieve", ct);
        return node is null
            ? await local.SetSieveAsync(actor, account, address, sieve, ct)
            : await ChangeRemoteAsync(actor, "email.sieve", address, account, node, (c, t) => c.SetMailSieveAsync(username, address, sieve, t), ct);
    }

    public async Task<ForwarderRow> UpdateForwarderAsync(Actor actor, string username, long id, ForwarderChange change, CancellationToken ct = default)
    {
        var (account, node) = await ResolveForChangeAsync(actor, username, AccountFeatures.Forwarders, "forwarder.update", ct);
        return node is null
            ? await local.UpdateForwarderAsync(actor, account, id, change, ct)
            : await ChangeRemoteAsync(actor, "forwarder.update", $"forwarder {id} of {username}", account, node, (c, t) => c.UpdateForwarderAsync(username, id, change, t), ct);
    }

    public async Task<IReadOnlyList<ForwarderRow>> ListForwardersAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return node is null ? await local.ListForwardersAsync(account, ct) : await RemoteAsync(node, (c, t) => c.ListForwardersAsync(username, t), ct);
    }

    public async Task<ForwarderRow> AddForwarderAsync(Actor actor, string username, NewForwarder request, CancellationToken ct = default)
    {
        var (account, node) = await ResolveForChangeAsync(actor, username, AccountFeatures.Forwarders, "forwarder.create", ct);
        if (node is not null && request.IsPipe)
        {
            // Said here as well as on the child, so the refusal is the same whether or not the child is reachable.
            throw new PortalValidationException(MailService.PipeElsewhereRule, code: "forwarder.pipe_distributed");
        }

        return node is null ? await local.AddForwarderAsync(actor, account, request, ct) : await ChangeRemoteAsync(actor, "forwarder.create", $"{request.LocalPart?.Trim().ToLowerInvariant()}@{account.Domain}", account, node, (c, t) => c.AddForwarderAsync(username, request, t), ct);
    }

    public async Task DeleteForwarderAsync(Actor actor, string username, long id, CancellationToken ct = default)
    {
        var (account, node) = await ResolveForChangeAsync(actor, username, AccountFeatures.Forwarders, "forwarder.delete", ct);
        if (node is null)
        {
            await local.DeleteForwarderAsync(actor, account, id, ct);
        }
        else
        {
            await ChangeRemoteAsync(actor, "forwarder.delete", $"forwarder {id} of {username}", account, node, async (c, t) => { await c.DeleteForwarderAsync(username, id, t); return true; }, ct);
        }
    }

    /// <summary>The password rules of the child that serves the account's mail; null when this node serves it.</summary>
    public async Task<PasswordPolicyView?> MailNodePasswordPolicyAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (_, node) = await ResolveAsync(actor, username, ct);
        return node is null ? null : await RemoteAsync(node, (c, t) => c.GetPasswordPolicyAsync(t), ct);
    }

    /// <summary>Where the account's mail lives, for the owner's view: null here, else the child's alias.</summary>
    public async Task<(AccountRow Account, string? MailNode)> WhereAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return (AccountRow.From(account), node?.Alias);
    }

    private async Task<(Account Account, LinkedNode? Node)> ResolveAsync(Actor actor, string username, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // The account and its mail node in one round trip: every proxied call starts here.
        var found = await db.Accounts.AsNoTracking().VisibleTo(actor).Where(a => a.Username == username)
            .Select(a => new { Account = a, Node = db.LinkedNodes.FirstOrDefault(n => n.Id == a.MailNodeId) })
            .SingleOrDefaultAsync(ct)
            ?? throw AccountAccess.NotVisible(username);
        return (found.Account, found.Node);
    }

    /// <summary>
    /// The account, for a change of its mail: refused (and audited) while the account is suspended and the actor is its
    /// owner, or while the account lacks the feature the change belongs to (whoever asks: a feature that is off is off
    /// for the account, as the owner's API tokens are with "API Tokens"), and always for a parent's account on its child
    /// (the parent changes its mail through the node API, not through this). Reading stays open, so nothing is hidden.
    /// </summary>
    private async Task<(Account Account, LinkedNode? Node)> ResolveForChangeAsync(Actor actor, string username, string feature, string action, CancellationToken ct)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        Exception? refusal = account.IsTwin ? AccountAccess.ChangedOnTheParent(username, "its mail is changed on the parent (by its owner or the parent's admins), which updates it here")
            : account.Status == AccountStatus.Suspended && actor.IsAccountOwner ? AccountSuspension.Refusal(account)
            : !account.HasFeature(feature) ? FeatureOff(account, feature, actor.IsAccountOwner)
            : null;
        if (refusal is not null)
        {
            await audit.RecordAsync(actor, action, username, AuditOutcome.Refused, refusal.Message, ct);
            throw refusal;
        }

        return (account, node);
    }

    /// <summary>
    /// The account's mail limit (<see cref="Account.MailQuotaMegabytes"/>), checked where the account is known, for its
    /// mail here or on a child alike: every mailbox needs a quota, and together they may not pass the limit.
    /// <paramref name="address"/>: the mailbox whose quota changes (null: a new one).
    /// </summary>
    private async Task CheckAccountLimitAsync(Actor actor, Account account, LinkedNode? node, string action, string? address, int quotaMegabytes, CancellationToken ct)
    {
        if (account.MailQuotaMegabytes is not { } limit)
        {
            return;
        }

        // The quotas where the mail is: the database here, or the child's own list (it is the one that enforces them).
        var mailboxes = node is null
            ? await local.QuotasAsync(account, ct)
            : (await RemoteAsync(node, (c, t) => c.ListMailAddressesAsync(account.Username, t), ct)).Select(m => (m.Address, m.QuotaBytes)).ToList();
        var others = mailboxes.Where(m => !string.Equals(m.Address, address?.Trim(), StringComparison.OrdinalIgnoreCase)).ToList();
        var given = others.Sum(m => m.QuotaBytes) / (1024 * 1024);
        var refusal = quotaMegabytes == 0
            ? $"Account {account.Username} may hold {limit} MiB of mail in all, so each of its mailboxes needs a quota (0, none, is not possible)."
            : others.Where(m => m.QuotaBytes == 0).Select(m => m.Address).FirstOrDefault() is { } unlimited
                ? $"Account {account.Username} may hold {limit} MiB of mail in all, but {unlimited} has no quota: give it one first."
                : given + quotaMegabytes > limit
                    ? $"Account {account.Username} may hold {limit} MiB of mail in all; its other mailboxes are given {given} MiB, so at most {Math.Max(0, limit - given)} MiB is left for this one."
                    : null;
        if (refusal is not null)
        {
            await audit.RecordAsync(actor, action, address ?? account.Username, AuditOutcome.Refused, refusal, ct);
            throw new PortalValidationException(refusal, [refusal], "email.account_limit");
        }
    }

    /// <summary>
    /// The package's mailbox count, checked here on the parent, where the request is accepted, for mail here or on a child
    /// alike (the child's twin knows nothing of packages). The count is where the mail is: the database, or the child's list.
    /// </summary>
    private async Task CheckMailboxLimitAsync(Actor actor, Account account, LinkedNode? node, CancellationToken ct)
    {
        if (account.PackageId is not { } packageId)
        {
            return;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var package = await db.Packages.AsNoTracking().Where(p => p.Id == packageId).Select(p => new { p.Name, p.MaxMailboxes }).SingleOrDefaultAsync(ct);
        if (package?.MaxMailboxes is not { } most)
        {
            return;
        }

        var count = node is null
            ? await db.EmailAccounts.CountAsync(e => e.AccountId == account.Id, ct)
            : (await RemoteAsync(node, (c, t) => c.ListMailAddressesAsync(account.Username, t), ct)).Count;
        if (count >= most)
        {
            var refusal = $"The account's package {package.Name} allows {most} mailbox(es); {account.Username} has {count}. Delete one first, or "
                + (actor.IsAccountOwner ? "ask your hosting provider for a larger package." : "put the account on a package that allows more.");
            await audit.RecordAsync(actor, "email.create", account.Username, AuditOutcome.Refused, refusal, ct);
            throw new PortalValidationException(refusal, [refusal], "email.mailbox_limit");
        }
    }

    /// <summary>A refusal as the audit keeps it: a weak password's message names its guessable parts, so only that it was refused.</summary>
    private static string AuditTextOf(Exception ex) => ex switch
    {
        PortalValidationException { Code: PolicyPasswordValidator.Code } => "The password was refused: too weak for the mail node's rule.",
        PortalValidationException { AuditText: { } text } => text,
        _ => ex.Message,
    };


    internal static PortalForbiddenException FeatureOff(Account account, string feature, bool owner) => new(
        owner
            ? $"The \"{AccountFeatures.Describe(feature)}\" feature is off for your account {account.Username}. Ask your hosting provider to turn it on."
            : $"The \"{AccountFeatures.Describe(feature)}\" feature is off for account {account.Username}; turn it on (Modify account, Features) first.",
        "account.feature_off");

    /// <summary>
    /// A change on the child, made for the actor (the child's audit says "on behalf of" them) and audited here with
    /// the actor, whatever its outcome; then the parent keeps the account's mail settings as they now are there, and
    /// publishes them (the parent takes SMTP AUTH for the account's mailboxes with those hashes). When the child's
    /// settings cannot be read now, or are not believed, <paramref name="patch"/> makes the same change to the kept
    /// ones, so that a changed or deleted password never keeps working for sending through the parent.
    /// </summary>
    private async Task<T> ChangeRemoteAsync<T>(Actor actor, string action, string target, Account account, LinkedNode node, Func<NodeApiClient, CancellationToken, Task<T>> call, CancellationToken ct,
        Func<MailConfiguration, MailConfiguration>? patch = null)
    {
        T result;
        try
        {
            result = await RemoteAsync(node, call, ct, actor);
        }
        catch (PortalException ex)
        {
            await audit.RecordAsync(actor, action, target, ex.IsRefusal ? AuditOutcome.Refused : AuditOutcome.Failed,
                $"On mail node {node.Alias}: {AuditTextOf(ex)}", ct);
            throw;
        }

        await audit.RecordAsync(actor, action, target, AuditOutcome.Succeeded, $"On mail node {node.Alias}.", ct);
        try
        {
            var settings = await clients.Create(links.EndpointOf(node)).ExportMailConfigurationAsync(account.Username, ct);
            // What a child reports is kept only if it passes the rules: a forced dedistribution would restore it.
            MailRules.EnsureAcceptable(settings, account.Domain, node.Alias);
            await RememberSettingsAsync(dbFactory, account.Id, settings, ct);
        }
        catch (NodeApiException)
        {
            // The change is made; the snapshot catches up with the next one, and meanwhile takes this one.
            await PatchSettingsAsync(account, patch, ct);
        }
        catch (UntrustedDataException ex)
        {
            // The change is made on the child; the parent keeps the last settings it could trust, with this change.
            logger.LogWarning("Not keeping the mail settings {Node} reported for {Username}: {Problem}", node.Alias, account.Username, ex.Message);
            await PatchSettingsAsync(account, patch, ct);
        }

        await publisher.RepublishAsync(ct);
        return result;
    }

    private async Task PatchSettingsAsync(Account account, Func<MailConfiguration, MailConfiguration>? patch, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var kept = await db.Accounts.Where(a => a.Id == account.Id).Select(a => a.MailSettingsSnapshot).SingleOrDefaultAsync(ct);
        if (patch is null || kept is null)
        {
            return;
        }

        await RememberSettingsAsync(dbFactory, account.Id, patch(JsonSerializer.Deserialize<MailConfiguration>(kept)!), ct);
    }

    /// <summary>The kept settings without a deleted mailbox.</summary>
    private static Func<MailConfiguration, MailConfiguration> Without(string address, string domain) =>
        c => c with { Addresses = c.Addresses.Where(a => !IsAddress(a, address, domain)).ToList() };

    /// <summary>The kept settings with a mailbox's new password (hashed here: the same password the child now checks).</summary>
    private static Func<MailConfiguration, MailConfiguration> WithPassword(string address, string domain, string password) =>
        c => c with { Addresses = c.Addresses.Select(a => IsAddress(a, address, domain) ? a with { PasswordHash = ShaCrypt.HashForDovecot(password) } : a).ToList() };

    private static bool IsAddress(MailAddressConfig mailbox, string address, string domain) =>
        string.Equals($"{mailbox.LocalPart}@{domain}", address.Trim().ToLowerInvariant(), StringComparison.Ordinal);

    /// <summary>Keeps the mail settings of an account whose mail is on a child (see <see cref="Account.MailSettingsSnapshot"/>).</summary>
    internal static async Task RememberSettingsAsync(IDbContextFactory<PortalDbContext> dbFactory, long accountId, MailConfiguration? settings, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var json = settings is null ? null : JsonSerializer.Serialize(settings);
        await db.Accounts.Where(a => a.Id == accountId).ExecuteUpdateAsync(u => u.SetProperty(a => a.MailSettingsSnapshot, json), ct);
    }

    /// <summary>
    /// One call to the child on the user's behalf, within <c>Portal:Distribution:ProxyTimeout</c>. The node API client
    /// retries a read after a failed connection and keeps a circuit per child (<see cref="NodeApiResilience"/>): a child
    /// that failed several times in a row is not asked at all for a while, so a broken child gives a quick, clear
    /// 502/504 rather than a hung page.
    /// </summary>
    private async Task<T> RemoteAsync<T>(LinkedNode node, Func<NodeApiClient, CancellationToken, Task<T>> call, CancellationToken ct, Actor? onBehalfOf = null)
    {
        var timeout = settings.Value.Distribution.ProxyTimeout;
        var client = clients.Create(links.EndpointOf(node), timeout);
        client.OnBehalfOf = onBehalfOf?.Name;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = "error";
        try
        {
            var result = await call(client, ct);
            outcome = "ok";
            return result;
        }
        catch (NodeCircuitOpenException ex)
        {
            outcome = "circuit_open";
            var wait = ex.RetryAfter is { } after ? $"{Math.Max(1, Math.Ceiling(after.TotalSeconds)):0} s" : "a while";
            throw new PortalUpstreamException(
                $"The mail server of this account ({node.Alias}) failed {NodeApiResilience.FailuresToOpen} times in a row; Portal stops asking it for {wait} so pages stay quick. Try again then; if it goes on, tell your provider.",
                timedOut: false, "mail.node_unavailable");
        }
        catch (NodeUnreachableException ex) when (ex.TimedOut)
        {
            outcome = "timeout";
            throw new PortalUpstreamException($"The mail server of this account ({node.Alias}) did not answer within {timeout.TotalSeconds:0} s. Try again in a few minutes.", timedOut: true, "mail.node_timeout");
        }
        catch (NodeUnreachableException ex)
        {
            outcome = "unreachable";
            throw new PortalUpstreamException($"The mail server of this account ({node.Alias}) cannot be reached: {ex.Message} Try again in a few minutes.", timedOut: false, "mail.node_unreachable");
        }
        catch (NodeRequestException ex) when (ex.Status is 400 or 409)
        {
            outcome = "refused";
            throw new PortalValidationException($"The mail node {node.Alias} refused: {ex.Message}", code: ex.Code);
        }
        catch (NodeRequestException ex) when (ex.Status == 404)
        {
            outcome = "not_found";
            throw new PortalNotFoundException(ex.Message);
        }
        catch (NodeApiException ex)
        {
            throw new PortalUpstreamException($"The mail node {node.Alias} failed: {ex.Message}", timedOut: false);
        }
        finally
        {
            PortalTelemetry.ProxyCall(node.Alias, outcome, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }
}
