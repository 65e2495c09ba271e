namespace Portal.Features.Distribution;

/// <summary>
/// Starts moves of an account's mail between nodes (admins only): one move per account at a time, and nothing starts
/// unless the preflight passes. The move itself is a job (<see cref="MailCopyJob"/>).
/// </summary>
public sealed class DistributionService(
    IDbContextFactory<PortalDbContext> dbFactory,
    MoveChecks checks,
    OperationLauncher launcher,
    IBackgroundJobClient jobs,
    ChildDeletionService deletions,
    NodeLinkService links,
    INodeApiClientFactory clients,
    DnsZoneService zones,
    DnsPublisher dns,
    MailStatePublisher mailState,
    MailService mail,
    AccountOrderCache orders,
    IOptions<PortalSettings> settings,
    AuditLog audit)
{
    /// <summary>The kinds of operation that move an account's mail; one of them per account at a time.</summary>
    public static readonly IReadOnlyList<string> MoveKinds = [MailCopyJob.Kind, MailReturnJob.Kind, MailRelayJob.Kind];

    /// <summary>The mail node "this node" when choosing where an account's mail goes.</summary>
    public static readonly Guid ThisNode = Guid.Empty;

    /// <summary>
    /// Moves an account's mail: from this node to a child (distribution), back here from its child (dedistribution,
    /// <paramref name="nodeId"/> = <see cref="ThisNode"/>), or from its child to another (redistribution).
    /// </summary>
    public async Task<Guid> MoveMailAsync(Actor actor, string username, Guid nodeId, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "account.move-mail", username, AuditOutcome.Refused, "Not an admin.", cancellationToken);
            throw new PortalForbiddenException("Only admins move an account's mail.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Two admins clicking at once: the second waits here, then sees the first's move.
        await AccountWork.LockAsync(db, username, cancellationToken);
        var account = await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.Username == username, cancellationToken)
            ?? throw new PortalNotFoundException($"There is no account \"{username}\" on this node.");
        if (await RunningMoveAsync(db, username, cancellationToken) is { } running)
        {
            var message = $"A move of {username}'s mail is already under way; follow it at /admin/operations/{running}.";
            await audit.RecordAsync(actor, "account.move-mail", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalConflictException(message, code: "move.in_progress");
        }

        if (await AccountWork.UnderWayAsync(db, username, cancellationToken) is { IsTermination: true })
        {
            var message = $"Account {username} is being terminated; its mail is not moved.";
            await audit.RecordAsync(actor, "account.move-mail", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalConflictException(message, code: "account.terminating");
        }

        if (nodeId == ThisNode)
        {
            var id = await DedistributeAsync(actor, db, account, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return id;
        }

        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == nodeId, cancellationToken);
        var source = account.MailNodeId is { } from ? await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == from, cancellationToken) : null;
        // From a child to another child the job measures the mail on the source; here the last known size answers at once.
        var preflight = account.MailNodeId is null
            ? await checks.CheckAsync(account, node, cancellationToken)
            : await checks.CheckRelayAsync(account, source, node, account.LastMailBytes ?? 0, cancellationToken);
        if (preflight.Problems.Count > 0)
        {
            var message = $"The mail of {username} cannot move to {node?.Alias ?? "that node"}: " + string.Join(" ", preflight.Problems);
            await audit.RecordAsync(actor, "account.move-mail", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalValidationException(message, preflight.Problems, "move.preflight");
        }

        // The account's copy from an earlier stay on that child is about to serve again: it must not be deleted.
        await deletions.CancelForReturnAsync(actor, username, node!.Id, cancellationToken);
        Guid started;
        if (source is null)
        {
            var request = new OperationRequest(MailCopyJob.Kind, $"Move the mail of {username} to {node.Alias}", username, MailCopyJob.Steps);
            started = await launcher.StartAsync(actor, request, new MoveParameters(node.Id).ToJson(),
                operationId => jobs.Enqueue<MailCopyJob>(job => job.RunAsync(operationId, CancellationToken.None)), cancellationToken);
        }
        else
        {
            var request = new OperationRequest(MailRelayJob.Kind, $"Move the mail of {username} from {source.Alias} to {node.Alias}", username, MailRelayJob.Steps);
            started = await launcher.StartAsync(actor, request, new MoveParameters(node.Id, source.Id).ToJson(),
                operationId => jobs.Enqueue<MailRelayJob>(job => job.RunAsync(operationId, CancellationToken.None)), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return started;
    }

    private async Task<Guid> DedistributeAsync(Actor actor, PortalDbContext db, Account account, CancellationToken ct)
    {
        if (account.MailNodeId is not { } nodeId)
        {
            var message = $"{account.Username}'s mail is already on this node.";
            await audit.RecordAsync(actor, "account.dedistribute", account.Username, AuditOutcome.Refused, message, ct);
            throw new PortalValidationException(message, [message], "move.preflight");
        }

        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == nodeId, ct);
        var problems = new List<string>();
        if (node is null)
        {
            problems.Add($"{account.MailNodeAlias} is no longer linked; force the dedistribution instead (the mail there is lost).");
        }
        else
        {
            try
            {
                await clients.Create(links.EndpointOf(node)).GetHealthAsync(ct);
            }
            catch (NodeApiException ex)
            {
                problems.Add($"{node.Alias} cannot be reached: {ex.Message} If it is lost for good, force the dedistribution from its account list (Linked Nodes > {node.Alias} > accounts).");
            }
        }

        if (problems.Count > 0)
        {
            var message = $"The mail of {account.Username} cannot come back from {account.MailNodeAlias}: " + string.Join(" ", problems);
            await audit.RecordAsync(actor, "account.dedistribute", account.Username, AuditOutcome.Refused, message, ct);
            throw new PortalValidationException(message, problems, "move.preflight");
        }

        var request = new OperationRequest(MailReturnJob.Kind, $"Bring the mail of {account.Username} back from {node!.Alias}", account.Username, MailReturnJob.Steps);
        return await launcher.StartAsync(actor, request, new MoveParameters(node.Id).ToJson(),
            operationId => jobs.Enqueue<MailReturnJob>(job => job.RunAsync(operationId, CancellationToken.None)), ct);
    }

    /// <summary>
    /// For a child that is lost (offline for good, or compromised): the chosen accounts become local at once, with DNS
    /// and routing at this node. Nothing is fetched; their mail on the child is lost. The admin confirms by typing each
    /// account's name. Refused for an account that is not on that child or whose mail is on the move.
    /// </summary>
    public async Task<IReadOnlyList<string>> ForceDedistributeAsync(Actor actor, Guid nodeId, IReadOnlyList<string> usernames, IReadOnlyList<string> typedNames, CancellationToken ct = default)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "account.force-dedistribute", string.Join(",", usernames), AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins force a dedistribution.");
        }

        var wanted = usernames.Distinct(StringComparer.Ordinal).ToList();
        var typed = typedNames.Select(t => t.Trim()).Where(t => t.Length > 0).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        if (wanted.Count == 0)
        {
            problems.Add("Choose at least one account.");
        }

        var untyped = wanted.Where(u => !typed.Contains(u)).ToList();
        if (untyped.Count > 0)
        {
            problems.Add($"Type the name of each account to confirm that its mail on the child is lost; missing: {string.Join(", ", untyped)}.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == nodeId, ct);
        var accounts = await db.Accounts.Where(a => wanted.Contains(a.Username)).ToListAsync(ct);
        foreach (var username in wanted)
        {
            var account = accounts.SingleOrDefault(a => a.Username == username);
            if (account is null)
            {
                problems.Add($"There is no account {username}.");
            }
            else if (account.MailNodeId != nodeId)
            {
                problems.Add($"{username}'s mail is not on {node?.Alias ?? "that node"}.");
            }
            else if (await RunningMoveAsync(db, username, ct) is { } running)
            {
                problems.Add($"A move of {username}'s mail is under way (/admin/operations/{running}); cancel it first.");
            }
        }

        if (problems.Count > 0)
        {
            var message = "Nothing was changed: " + string.Join(" ", problems);
            await audit.RecordAsync(actor, "account.force-dedistribute", string.Join(",", wanted), AuditOutcome.Refused, message, ct);
            throw new PortalValidationException(message, problems, "force.refused");
        }

        await using (var transaction = await db.Database.BeginTransactionAsync(ct))
        {
            foreach (var account in accounts)
            {
                account.MailNodeId = null;
                account.MailNodeAlias = null;
                await zones.SetMailAddressAsync(db, account.Id, settings.Value.Dns.PublicIPv4, ct);
            }

            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }

        orders.Invalidate();
        foreach (var account in accounts.Where(a => a.MailSettingsSnapshot is not null))
        {
            // Their email accounts and forwarders come back empty, with the passwords last known here. Settings the
            // lost child reported are held to the rules: ones that break them are not restored, and the admin is told.
            var snapshot = JsonSerializer.Deserialize<MailConfiguration>(account.MailSettingsSnapshot!)!;
            try
            {
                await mail.ImportConfigurationAsync(account, snapshot, disablePipes: true, ct, from: $"{node?.Alias ?? "the lost child"} (the settings kept of {account.Username})");
            }
            catch (UntrustedDataException ex)
            {
                await audit.RecordAsync(actor, "account.force-dedistribute", account.Username, AuditOutcome.Refused,
                    $"The account is local again, but its email accounts and forwarders were not restored: {ex.Message} Create them again.", ct);
            }

            await MailFunctions.RememberSettingsAsync(dbFactory, account.Id, null, ct);
        }

        await mailState.RepublishAsync(ct);
        foreach (var account in accounts)
        {
            await dns.PublishAsync(account.Id, ct);
        }

        foreach (var account in accounts)
        {
            var lost = account.LastMailMessages is { } m
                ? $"{m} message(s), {Units.Bytes(account.LastMailBytes ?? 0)} when last measured ({account.LastMailMeasuredAt:yyyy-MM-dd HH:mm} UTC)"
                : "an unknown amount of mail";
            await audit.RecordAsync(actor, "account.force-dedistribute", account.Username, AuditOutcome.Succeeded,
                $"Mail node {node?.Alias ?? nodeId.ToString()} -> this node without fetching; lost there: {lost}.", ct);
            if (node is not null)
            {
                // No orphan on the child: its copy is deleted after the retention period, as after any move away (the
                // mail there can still be salvaged until then), once the child answers again.
                await deletions.ScheduleAsync(account.Username, account.Domain, node.Id, node.Alias, operationId: null, ct);
            }
        }

        return wanted;
    }

    /// <summary>
    /// A reseller's mail routing changes only where its new accounts start; this applies it to its existing accounts
    /// when an admin asks: one move operation per account whose mail is elsewhere. An account that cannot move now (a
    /// move under way, a preflight problem) is reported with the reason, and the others still start.
    /// </summary>
    public async Task<IReadOnlyList<ResellerMoveResult>> ApplyResellerMailNodeAsync(Actor actor, string resellerName, CancellationToken ct = default)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "reseller.apply-mail-node", resellerName, AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins move resellers' accounts.");
        }

        List<(string Username, Guid? MailNodeId)> accounts;
        Guid target;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var reseller = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.UserName == resellerName, ct)
                ?? throw new PortalNotFoundException($"There is no reseller \"{resellerName}\" on this node.");
            target = await db.ResellerSettings.AsNoTracking().Where(r => r.UserId == reseller.Id).Select(r => r.MailNodeId).SingleOrDefaultAsync(ct) ?? ThisNode;
            accounts = (await db.Accounts.AsNoTracking().Where(a => a.ResellerId == reseller.Id).OrderBy(a => a.Username)
                .Select(a => new { a.Username, a.MailNodeId }).ToListAsync(ct)).Select(a => (a.Username, a.MailNodeId)).ToList();
        }

        var results = new List<ResellerMoveResult>();
        foreach (var (username, mailNode) in accounts.Where(a => (a.MailNodeId ?? ThisNode) != target))
        {
            try
            {
                results.Add(new ResellerMoveResult(username, await MoveMailAsync(actor, username, target, ct), null));
            }
            catch (PortalValidationException ex)
            {
                results.Add(new ResellerMoveResult(username, null, ex.Message));
            }
            catch (PortalConflictException ex)
            {
                results.Add(new ResellerMoveResult(username, null, ex.Message));
            }
        }

        await audit.RecordAsync(actor, "reseller.apply-mail-node", resellerName, AuditOutcome.Succeeded,
            $"{results.Count(r => r.OperationId is not null)} move(s) started, {results.Count(r => r.OperationId is null)} refused; {accounts.Count - results.Count} account(s) already there.", ct);
        return results;
    }

    /// <summary>The accounts whose mail is on a child, with what was last known of it (for a forced dedistribution).</summary>
    public async Task<IReadOnlyList<DistributedAccountRow>> DistributedAccountsAsync(Actor actor, Guid nodeId, CancellationToken ct = default)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins see a node's distributed accounts.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Accounts.AsNoTracking().Where(a => a.MailNodeId == nodeId).OrderBy(a => a.Username).Take(1000)
            .Select(a => new DistributedAccountRow(a.Username, a.Domain, a.LastMailMessages, a.LastMailBytes, a.LastMailMeasuredAt))
            .ToListAsync(ct);
    }

    /// <summary>The move of this account under way, if any.</summary>
    public async Task<Guid?> RunningMoveAsync(string username, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await RunningMoveAsync(db, username, cancellationToken);
    }

    private static async Task<Guid?> RunningMoveAsync(PortalDbContext db, string username, CancellationToken ct) =>
        await db.Operations.Where(o => o.Target == username && MoveKinds.Contains(o.Kind)
                && (o.State == OperationState.Queued || o.State == OperationState.Running || o.State == OperationState.Paused))
            .OrderByDescending(o => o.RequestedAt).Select(o => (Guid?)o.Id).FirstOrDefaultAsync(ct);
}

/// <summary>An account whose mail is on a child, with its mail there when last measured.</summary>
public sealed record DistributedAccountRow(string Username, string Domain, long? LastMailMessages, long? LastMailBytes, DateTimeOffset? LastMailMeasuredAt);

/// <summary>One account of a reseller: the move started for it, or why it could not start.</summary>
public sealed record ResellerMoveResult(string Username, Guid? OperationId, string? Problem);
