namespace Portal.Features.Accounts;

/// <summary>What an admin or reseller asks for when terminating an account.</summary>
/// <param name="Confirm">The account's user name, typed again.</param>
/// <param name="KeepArchiveDays">Keep a final archive of its mail on this node for this many days (1-365); null for none.</param>
public sealed record AccountTerminationRequest(string? Confirm, int? KeepArchiveDays = null);

/// <summary>What a termination operation carries besides its target (the account's user name). No secrets.</summary>
public sealed record TerminationParameters(string Domain, Guid? MailNodeId, string? MailNodeAlias, int? KeepArchiveDays, IReadOnlyList<string> LocalParts);

/// <summary>
/// Terminating an account (admins any, resellers theirs): checked and recorded here, then carried out by
/// <see cref="AccountTerminationJob"/> as an operation. At the request the account is suspended at once (its owner's
/// sign-in, tokens and mail logins stop); the job removes the child's part first (its twin and mail, or a deletion
/// queued with the scheduled deletions when the child is away), then the account here, then its DNS zone.
/// </summary>
public sealed class AccountTermination(
    IServiceScopeFactory scopes,
    IDbContextFactory<PortalDbContext> dbFactory,
    OperationLauncher launcher,
    IBackgroundJobClient jobs,
    NodeLinkService links,
    INodeApiClientFactory clients,
    ChildDeletionService childDeletions,
    MailStatePublisher mailState,
    MailService mail,
    DnsPublisher dns,
    ApiTokenService tokens,
    AccountOrderCache orders,
    AuditLog audit,
    IOptions<PortalSettings> settings,
    TimeProvider clock) : IAccountTerminationSteps
{
    public const int MaxArchiveDays = 365;

    /// <summary>The reason a terminating account's owner is shown while the termination runs.</summary>
    public const string SuspensionReason = "This account is being terminated.";

    private const string Action = "account.terminate";

    public async Task<Guid> TerminateAsync(Actor actor, string username, AccountTerminationRequest request, CancellationToken ct = default)
    {
        try
        {
            return await TerminateCheckedAsync(actor, username, request, ct);
        }
        catch (PortalException ex) when (ex.IsRefusal)
        {
            await audit.RecordAsync(actor, Action, username, AuditOutcome.Refused, ex.Message, ct);
            throw;
        }
    }

    private async Task<Guid> TerminateCheckedAsync(Actor actor, string username, AccountTerminationRequest request, CancellationToken ct)
    {
        if (!actor.ManagesAccounts)
        {
            throw new PortalForbiddenException("Only admins and resellers terminate accounts; ask your provider.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        // The same lock a move takes: a move and a termination of one account never start side by side.
        await AccountWork.LockAsync(db, username, ct);
        var account = await AccountAccess.FindVisibleAsync(db, actor, username, ct);
        if (account.IsTwin)
        {
            throw AccountAccess.ChangedOnTheParent(username, "terminate it on the parent, which removes it here");
        }

        var problems = new List<string>();
        if (!string.Equals(request.Confirm?.Trim(), account.Username, StringComparison.Ordinal))
        {
            problems.Add($"Type the account's user name, {account.Username}, to confirm its termination.");
        }

        if (request.KeepArchiveDays is { } days && (days < 1 || days > MaxArchiveDays))
        {
            problems.Add($"Keep the final archive for 1 to {MaxArchiveDays} days, or keep none.");
        }

        if (problems.Count > 0)
        {
            throw new PortalValidationException($"Account {username} was not terminated: " + string.Join(" ", problems), problems, "account.terminate_invalid");
        }

        if (await AccountWork.UnderWayAsync(db, username, ct) is { } busy)
        {
            throw busy.IsTermination
                ? new PortalConflictException($"Account {username} is being terminated already; follow it at /admin/operations/{busy.Id}.", code: "account.terminating")
                : new PortalConflictException($"A move of {username}'s mail is under way; let it finish (or cancel it) first: /admin/operations/{busy.Id}.", code: "move.in_progress");
        }

        var localParts = account.MailNodeId is null ? await mail.LocalPartsAsync(account, ct) : [];
        var parameters = new TerminationParameters(account.Domain, account.MailNodeId, account.MailNodeAlias, request.KeepArchiveDays, localParts);

        // Out of service at once: the owner's sign-in, tokens and mail logins stop while the job runs.
        account.Status = AccountStatus.Suspended;
        account.SuspensionReason = SuspensionReason;
        account.SuspendedAt ??= clock.GetUtcNow();
        account.SuspendedByAdmin = account.SuspendedByAdmin || actor.IsAdmin;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        orders.Invalidate();
        tokens.ForgetRecentChecks();
        await mailState.RepublishAsync(ct);
        if (account.MailNodeId is null)
        {
            await mailState.EndSessionsAsync(account.Id, ct);
        }

        var id = await launcher.StartAsync(actor,
            new OperationRequest(AccountTerminationJob.Kind, $"Terminate {username}", username, AccountTerminationJob.StepsFor(request.KeepArchiveDays is not null, account.MailNodeId is not null)),
            JsonSerializer.Serialize(parameters),
            opId => jobs.Enqueue<AccountTerminationJob>(job => job.RunAsync(opId, CancellationToken.None)), ct);
        await audit.RecordAsync(actor, Action, username, AuditOutcome.Succeeded,
            $"Domain {account.Domain}; mail {(account.MailNodeAlias ?? "here")}; {(request.KeepArchiveDays is { } d ? $"final archive kept {d} day(s)" : "no archive")}. Operation {id}.", ct);
        return id;
    }

    // --- the job's steps ---

    public async Task<TerminationPlan> LoadAsync(Guid operationId, CancellationToken ct)
    {
        var (operation, parameters) = await ParametersAsync(operationId, ct);
        return new TerminationPlan(operation, parameters.Domain, settings.Value.MailRoot, parameters.LocalParts, parameters.MailNodeAlias, parameters.KeepArchiveDays);
    }

    public async Task<string?> RemoveFromChildAsync(IOperationRun run, TerminationPlan plan, CancellationToken ct)
    {
        var (_, parameters) = await ParametersAsync(run.OperationId, ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var node = parameters.MailNodeId is { } nodeId ? await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == nodeId, ct) : null;
        if (node is null)
        {
            await run.LogAsync(OperationLogLevel.Warning, $"{plan.MailNodeAlias} is no longer linked: the account's copy there, if the node still exists, is removed by its admin (Release the accounts of a former parent).", ct);
            return $"{plan.MailNodeAlias} is no longer linked; nothing was removed there.";
        }

        try
        {
            await clients.Create(links.EndpointOf(node)).RemoveAccountTwinWithMailAsync(plan.Username, ct);
            return $"The account and its mail are removed from {node.Alias}.";
        }
        catch (NodeApiException ex)
        {
            // Away or failing: the removal waits with the scheduled deletions (retried, and an admin can run it now).
            await childDeletions.ScheduleAsync(plan.Username, plan.Domain, node.Id, node.Alias, run.OperationId, ct, dueNow: true);
            await run.LogAsync(OperationLogLevel.Warning, $"{node.Alias} did not remove the account ({ex.Message}); its removal there is queued with the scheduled deletions and tried again.", ct);
            return $"The removal on {node.Alias} is queued (see Scheduled deletions).";
        }
    }

    public async Task<string?> RemoveHereAsync(IOperationRun run, TerminationPlan plan, CancellationToken ct)
    {
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var account = await db.Accounts.SingleOrDefaultAsync(a => a.Username == plan.Username && a.ParentNodeId == null, ct);
            if (account is not null)
            {
                if (account.UserId is { } ownerId)
                {
                    await db.ApiTokens.Where(t => t.OwnerUserId == ownerId).ExecuteDeleteAsync(ct);
                    if (await users.FindByIdAsync(ownerId) is { } owner)
                    {
                        var deleted = await users.DeleteAsync(owner);
                        if (!deleted.Succeeded)
                        {
                            throw new InvalidOperationException($"The owner's sign-in could not be removed: {string.Join(" ", deleted.Errors.Select(e => e.Description))}");
                        }
                    }
                }

                // The zone, its records, the email accounts and forwarders go with the account (cascade).
                db.Accounts.Remove(account);
                await db.SaveChangesAsync(ct);
            }

            await transaction.CommitAsync(ct);
        }

        orders.Invalidate();
        tokens.ForgetRecentChecks();
        await mailState.RepublishAsync(ct);

        // The mail servers no longer know the domain; its mail and the mailboxes' homes go (the trash first: one rename).
        var (messages, bytes) = (0L, 0L);
        foreach (var local in plan.LocalParts)
        {
            var (m, b) = Maildir.Measure(Maildir.MailboxPath(plan.MailRoot, plan.Domain, local));
            (messages, bytes) = (messages + m, bytes + b);
        }

        MailTrash.Discard(plan.MailRoot, Maildir.DomainFolder(plan.MailRoot, plan.Domain));
        var homes = mailState.DiscardHomesOf(plan.Domain);
        MailTrash.Empty(plan.MailRoot);
        await run.LogAsync(OperationLogLevel.Info, $"Removed {plan.LocalParts.Count} mailbox(es) with {messages} message(s), {Units.Bytes(bytes)}, and {homes} mailbox home(s) here.", ct);

        // Copies of the account on children its mail left earlier go now too: there is no account to keep them for.
        var pending = await childDeletions.RunPendingNowAsync(plan.Username, ct);
        return pending > 0
            ? $"The account is removed here; {pending} copy(ies) on former mail nodes are being deleted now."
            : "The account is removed here.";
    }

    public async Task<string?> RemoveZoneAsync(TerminationPlan plan, CancellationToken ct)
    {
        if (!dns.Enabled)
        {
            return "No DNS server is configured; the zone was only in Portal.";
        }

        return await dns.RemoveZoneAsync(plan.Domain, ct)
            ? $"The zone {plan.Domain} is removed from the DNS server."
            : $"The DNS server did not answer; the zone {plan.Domain} is removed from it when it does (tried every minute).";
    }

    public async Task<NodeApiClient?> MailNodeAsync(Guid operationId, CancellationToken ct)
    {
        var (_, parameters) = await ParametersAsync(operationId, ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var node = parameters.MailNodeId is { } nodeId ? await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == nodeId, ct) : null;
        return node is null ? null : clients.Create(links.EndpointOf(node));
    }

    public long FreeMailBytes() => MailDisk.Measure(settings.Value).Free;

    public void ScheduleArchiveRemoval(Guid operationId, TimeSpan after) =>
        jobs.Schedule<AccountTerminationJob>(job => job.RemoveArchiveAsync(operationId, CancellationToken.None), after);

    private async Task<(string Username, TerminationParameters Parameters)> ParametersAsync(Guid operationId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().Where(o => o.Id == operationId).Select(o => new { o.Target, o.Parameters }).SingleAsync(ct);
        var parameters = JsonSerializer.Deserialize<TerminationParameters>(operation.Parameters ?? throw new InvalidOperationException("The termination has no parameters."))
            ?? throw new InvalidOperationException("The termination's parameters are empty.");
        return (operation.Target!, parameters);
    }
}
