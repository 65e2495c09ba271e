namespace Portal.Features.Accounts;

/// <summary>A twin left on this node by a parent it is no longer linked to, with the mail it holds here.</summary>
public sealed record FormerParentAccountRow(string Username, string Domain, Guid FormerParentId, int Mailboxes, long Messages, long Bytes, DateTimeOffset CreatedAt);

/// <summary>Which of them to release: their user names, and the word "release" typed to confirm.</summary>
public sealed record ReleaseRequest(IReadOnlyList<string>? Usernames, string? Confirm);

/// <summary>
/// On a child: the accounts a former parent left here (unlinked, or linked to another parent since, with copies kept),
/// which nobody else can change or remove. This node's admin sees them with their mail and releases them: the
/// account and all its mail here go. Twins of the current parent are the parent's to remove and are never listed.
/// </summary>
public sealed class FormerParentAccounts(
    IDbContextFactory<PortalDbContext> dbFactory,
    NodeIdentityService identity,
    MailService mail,
    MailStatePublisher mailState,
    AccountOrderCache orders,
    AuditLog audit)
{
    public const string ConfirmWord = "release";

    public async Task<IReadOnlyList<FormerParentAccountRow>> ListAsync(Actor actor, CancellationToken ct = default)
    {
        RequireAdmin(actor);
        var accounts = await FormerTwinsAsync(ct);
        var rows = new List<FormerParentAccountRow>();
        foreach (var account in accounts)
        {
            var (messages, bytes) = await mail.MeasureAsync(account, ct);
            rows.Add(new FormerParentAccountRow(account.Username, account.Domain, account.ParentNodeId!.Value, (await mail.LocalPartsAsync(account, ct)).Count, messages, bytes, account.CreatedAt));
        }

        return rows;
    }

    /// <summary>Removes the chosen accounts of a former parent with all their mail here; returns the names released.</summary>
    public async Task<IReadOnlyList<string>> ReleaseAsync(Actor actor, ReleaseRequest request, CancellationToken ct = default)
    {
        const string action = "account.twin.release";
        var wanted = (request.Usernames ?? []).Distinct(StringComparer.Ordinal).ToList();
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, action, string.Join(",", wanted), AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins release the accounts of a former parent.");
        }

        var former = (await FormerTwinsAsync(ct)).ToDictionary(a => a.Username, StringComparer.Ordinal);
        var problems = new List<string>();
        if (wanted.Count == 0)
        {
            problems.Add("Choose at least one account.");
        }

        var unknown = wanted.Where(u => !former.ContainsKey(u)).ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"Not an account of a former parent here: {string.Join(", ", unknown)} (a current parent's accounts are removed by that parent).");
        }

        if (!string.Equals(request.Confirm?.Trim(), ConfirmWord, StringComparison.Ordinal))
        {
            problems.Add($"Type \"{ConfirmWord}\" to confirm that these accounts and all their mail on this node go.");
        }

        if (problems.Count > 0)
        {
            var message = "Nothing was released: " + string.Join(" ", problems);
            await audit.RecordAsync(actor, action, string.Join(",", wanted), AuditOutcome.Refused, message, ct);
            throw new PortalValidationException(message, problems, "release.invalid");
        }

        foreach (var username in wanted)
        {
            var account = former[username];
            var (messages, bytes) = await mail.MeasureAsync(account, ct);
            await mail.DeleteMailDataAsync(account, ct);
            await using (var db = await dbFactory.CreateDbContextAsync(ct))
            {
                await db.Accounts.Where(a => a.Id == account.Id).ExecuteDeleteAsync(ct);
            }

            await audit.RecordAsync(actor, action, username, AuditOutcome.Succeeded,
                $"Account of former parent {account.ParentNodeId} for {account.Domain} removed with {messages} message(s), {Units.Bytes(bytes)}.", ct);
        }

        orders.Invalidate();
        await mailState.RepublishAsync(ct);
        return wanted;
    }

    private async Task<List<Account>> FormerTwinsAsync(CancellationToken ct)
    {
        var parentId = (await identity.GetAsync(ct)).Parent?.NodeId;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Accounts.AsNoTracking().Where(a => a.ParentNodeId != null && a.ParentNodeId != parentId).OrderBy(a => a.Username).ToListAsync(ct);
    }

    private static void RequireAdmin(Actor actor)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins see the accounts of a former parent.");
        }
    }
}
