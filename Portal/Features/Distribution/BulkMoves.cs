namespace Portal.Features.Distribution;

/// <summary>
/// Move these accounts' mail to one node (null: this node): the ones named, or every account the accounts grid's
/// filters match (its sort and page are ignored).
/// </summary>
public sealed record BulkMoveRequest(IReadOnlyList<string>? Usernames, Guid? NodeId, AccountQuery? Filter = null);

/// <summary>
/// The guide's bulk procedures: "dedistribute every account on this child" (its first step before the child moves to a
/// new parent) and "move these accounts" to one node. Each is one operation (<see cref="BulkMoveJob"/>) that starts
/// an ordinary move per account, <c>Portal:Distribution:MovesPerNode</c> at a time, each with every rule of a single
/// move; accounts already there are left out, and a refused one is said in the log with why.
/// </summary>
public sealed class BulkMoves(
    IDbContextFactory<PortalDbContext> dbFactory,
    OperationLauncher launcher,
    IBackgroundJobClient jobs,
    DistributionService distribution,
    MailService mail,
    MailMoveSettings moveSettings,
    AccountQueries queries,
    AuditLog audit) : IBulkMoveSteps
{
    /// <summary>The most accounts one bulk move takes.</summary>
    public const int MaxAccounts = 5_000;

    private sealed record Parameters(IReadOnlyList<BulkMoveItem> Items, string? RequestedById);

    public async Task<Guid> DedistributeAllAsync(Actor actor, Guid nodeId, CancellationToken ct = default)
    {
        await RequireAdminAsync(actor, "node.dedistribute-all", nodeId.ToString(), ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == nodeId, ct)
            ?? throw new PortalNotFoundException("No linked node has that id.");
        var accounts = await db.Accounts.AsNoTracking().Where(a => a.MailNodeId == nodeId).OrderBy(a => a.Username).ToListAsync(ct);
        if (accounts.Count == 0)
        {
            var message = $"No account keeps its mail on {node.Alias}; there is nothing to bring back.";
            await audit.RecordAsync(actor, "node.dedistribute-all", node.Alias, AuditOutcome.Refused, message, ct);
            throw new PortalConflictException(message, code: "bulk.nothing");
        }

        var items = accounts.Select(a => new BulkMoveItem(a.Username, DistributionService.ThisNode, Math.Max(1, a.LastMailBytes ?? 1))).ToList();
        return await StartAsync(actor, $"Bring all mail back from {node.Alias}", node.Alias, items, "node.dedistribute-all", ct);
    }

    public async Task<Guid> MoveAccountsAsync(Actor actor, BulkMoveRequest request, CancellationToken ct = default)
    {
        var wanted = (request.Usernames ?? []).Distinct(StringComparer.Ordinal).ToList();
        await RequireAdminAsync(actor, "accounts.move-mail", string.Join(",", wanted), ct);
        if (wanted.Count == 0 && request.Filter is { } filter)
        {
            wanted = [.. await queries.UsernamesAsync(actor, filter, MaxAccounts, ct)];
        }
        else if (wanted.Count > MaxAccounts)
        {
            throw new PortalValidationException($"Name at most {MaxAccounts} accounts in one bulk move.", code: "bulk.invalid");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var target = request.NodeId ?? DistributionService.ThisNode;
        var alias = target == DistributionService.ThisNode ? "this node"
            : await db.LinkedNodes.AsNoTracking().Where(n => n.Id == target).Select(n => n.Alias).SingleOrDefaultAsync(ct)
              ?? throw new PortalNotFoundException("No linked node has that id.");
        var accounts = await db.Accounts.AsNoTracking().Where(a => wanted.Contains(a.Username) && a.ParentNodeId == null).ToListAsync(ct);
        var problems = new List<string>();
        if (wanted.Count == 0)
        {
            problems.Add("Choose at least one account.");
        }

        var unknown = wanted.Except(accounts.Select(a => a.Username)).ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"There is no account {string.Join(", ", unknown)} on this node.");
        }

        var moving = accounts.Where(a => (a.MailNodeId ?? DistributionService.ThisNode) != target).OrderBy(a => a.Username).ToList();
        if (problems.Count == 0 && moving.Count == 0)
        {
            problems.Add($"The mail of every chosen account is on {alias} already.");
        }

        if (problems.Count > 0)
        {
            var message = "No move was started: " + string.Join(" ", problems);
            await audit.RecordAsync(actor, "accounts.move-mail", string.Join(",", wanted), AuditOutcome.Refused, message, ct);
            throw new PortalValidationException(message, problems, "bulk.invalid");
        }

        var items = new List<BulkMoveItem>();
        foreach (var account in moving)
        {
            var bytes = account.MailNodeId is null ? (await mail.MeasureAsync(account, ct)).Bytes : account.LastMailBytes ?? 0;
            items.Add(new BulkMoveItem(account.Username, target, Math.Max(1, bytes)));
        }

        return await StartAsync(actor, $"Move the mail of {items.Count} account(s) to {alias}", alias, items, "accounts.move-mail", ct);
    }

    private async Task<Guid> StartAsync(Actor actor, string title, string target, IReadOnlyList<BulkMoveItem> items, string action, CancellationToken ct)
    {
        var id = await launcher.StartAsync(actor, new OperationRequest(BulkMoveJob.Kind, title, target, BulkMoveJob.Steps),
            JsonSerializer.Serialize(new Parameters(items, actor.UserId)),
            operationId => jobs.Enqueue<BulkMoveJob>(job => job.RunAsync(operationId, CancellationToken.None)), ct);
        await audit.RecordAsync(actor, action, target, AuditOutcome.Succeeded, $"{items.Count} account(s): {string.Join(", ", items.Take(20).Select(i => i.Username))}{(items.Count > 20 ? ", ..." : "")}. Operation {id}.", ct);
        return id;
    }

    // --- the job's steps ---

    public async Task<BulkMovePlan> LoadAsync(Guid operationId, CancellationToken ct)
    {
        var (_, parameters) = await ParametersAsync(operationId, ct);
        return new BulkMovePlan(parameters.Items, Math.Max(1, moveSettings.MovesPerNode));
    }

    public async Task<(Guid? OperationId, string? Problem)> StartAsync(Guid operationId, BulkMoveItem item, CancellationToken ct)
    {
        var (requestedBy, parameters) = await ParametersAsync(operationId, ct);
        // As the admin who asked for the bulk move, with every rule of a single move.
        var actor = new Actor(parameters.RequestedById, $"{requestedBy} (bulk move)", null,
            new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Role, PortalRoles.Admin)], "bulk-move")));
        try
        {
            return (await distribution.MoveMailAsync(actor, item.Username, item.Target, ct), null);
        }
        catch (PortalException ex) when (ex.IsRefusal)
        {
            return (null, ex.Message);
        }
    }

    public async Task<IReadOnlyDictionary<Guid, MoveStanding>> StandingsAsync(IReadOnlyCollection<Guid> operationIds, CancellationToken ct)
    {
        var ids = operationIds.ToList();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Operations.AsNoTracking().Where(o => ids.Contains(o.Id))
            .ToDictionaryAsync(o => o.Id, o => new MoveStanding(o.State.ToString(), o.Percent), ct);
    }

    private async Task<(string RequestedBy, Parameters Parameters)> ParametersAsync(Guid operationId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().Where(o => o.Id == operationId).Select(o => new { o.RequestedBy, o.Parameters }).SingleAsync(ct);
        return (operation.RequestedBy, JsonSerializer.Deserialize<Parameters>(operation.Parameters!)!);
    }

    private async Task RequireAdminAsync(Actor actor, string action, string target, CancellationToken ct)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, action, target, AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins move accounts' mail.");
        }
    }
}
