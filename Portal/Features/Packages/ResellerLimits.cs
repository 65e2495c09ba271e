namespace Portal.Features.Packages;

/// <summary>
/// How many accounts a reseller may own and how much disk it may hand out. Disk counts what its accounts are promised
/// (the sum of their mail limits), not what they hold today: a reseller that sold 10 GiB has sold it, however empty the
/// mailboxes still are, and an account without a mail limit could take everything, so it is refused while a disk limit
/// is set. Checked by <see cref="AccountService"/> when an account is created or its mail limit changes, whoever asks.
/// </summary>
public sealed class ResellerLimits(IServiceScopeFactory scopes, AuditLog audit)
{
    public const int MaxValue = 10_485_760;

    public async Task<ResellerRow> SetAsync(Actor actor, string resellerName, ResellerLimitsChange change, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "reseller.limits", resellerName, AuditOutcome.Refused, "Not an admin.", cancellationToken);
            throw new PortalForbiddenException("Only admins set a reseller's limits.");
        }

        var problems = new List<string>();
        if (change.MaxAccounts is < 0 or > MaxValue)
        {
            problems.Add($"The most accounts must be between 0 and {MaxValue}, or empty for no limit.");
        }

        if (change.MaxDiskMegabytes is < 0 or > MaxValue)
        {
            problems.Add($"The most disk must be between 0 and {MaxValue} MiB, or empty for no limit.");
        }

        if (problems.Count > 0)
        {
            var message = $"The limits of {resellerName} were not changed: " + string.Join(" ", problems);
            await audit.RecordAsync(actor, "reseller.limits", resellerName, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalValidationException(message, problems, "reseller.invalid_limits");
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var reseller = await users.FindByNameAsync(resellerName);
        if (reseller is null || !await users.IsInRoleAsync(reseller, PortalRoles.Reseller))
        {
            await audit.RecordAsync(actor, "reseller.limits", resellerName, AuditOutcome.Refused, "No such reseller.", cancellationToken);
            throw new PortalNotFoundException($"There is no reseller \"{resellerName}\" on this node.");
        }

        var row = await db.ResellerSettings.SingleOrDefaultAsync(r => r.UserId == reseller.Id, cancellationToken);
        if (row is null)
        {
            row = new ResellerSettings { UserId = reseller.Id };
            db.ResellerSettings.Add(row);
        }

        (row.MaxAccounts, row.MaxDiskMegabytes) = (change.MaxAccounts, change.MaxDiskMegabytes);
        await db.SaveChangesAsync(cancellationToken);
        var result = await RowAsync(db, reseller.Id, reseller.UserName!, cancellationToken);
        // A limit below what is already used is allowed (the admin may be cutting a reseller back); it refuses new
        // accounts and larger mail limits until the reseller is under it, and the audit says so.
        var over = Over(result);
        await audit.RecordAsync(actor, "reseller.limits", resellerName, AuditOutcome.Succeeded,
            $"Accounts {Text(change.MaxAccounts)}, disk {Text(change.MaxDiskMegabytes, " MiB")}.{(over is null ? "" : " " + over)}", cancellationToken);
        return result;
    }

    /// <summary>A reseller's routing, usage and limits.</summary>
    internal static async Task<ResellerRow> RowAsync(PortalDbContext db, string resellerId, string resellerName, CancellationToken ct)
    {
        var settings = await db.ResellerSettings.AsNoTracking().SingleOrDefaultAsync(s => s.UserId == resellerId, ct);
        var alias = settings?.MailNodeId is { } id ? await db.LinkedNodes.Where(n => n.Id == id).Select(n => n.Alias).SingleOrDefaultAsync(ct) : null;
        var usage = (await UsageAsync(db, [resellerId], ct)).GetValueOrDefault(resellerId);
        return new ResellerRow(resellerId, resellerName, settings?.MailNodeId, alias, usage?.Accounts ?? 0, usage?.DiskBytes ?? 0,
            settings?.MaxAccounts, settings?.MaxDiskMegabytes, usage?.AllocatedMegabytes ?? 0, usage?.WithoutLimit ?? 0);
    }

    internal sealed record Usage(int Accounts, long DiskBytes, long AllocatedMegabytes, int WithoutLimit);

    internal static async Task<Dictionary<string, Usage>> UsageAsync(PortalDbContext db, IReadOnlyCollection<string>? resellerIds, CancellationToken ct)
    {
        var accounts = db.Accounts.Where(a => a.ResellerId != null);
        if (resellerIds is not null)
        {
            accounts = accounts.Where(a => resellerIds.Contains(a.ResellerId!));
        }

        return await accounts.GroupBy(a => a.ResellerId!)
            .Select(g => new
            {
                g.Key,
                Count = g.Count(),
                Disk = g.Sum(a => a.DiskUsageBytes),
                Allocated = g.Sum(a => (long?)a.MailQuotaMegabytes) ?? 0,
                WithoutLimit = g.Count(a => a.MailQuotaMegabytes == null),
            })
            .ToDictionaryAsync(x => x.Key, x => new Usage(x.Count, x.Disk, x.Allocated, x.WithoutLimit), ct);
    }

    /// <summary>
    /// Why the reseller may not take one more account (<paramref name="newAccount"/>) or give account
    /// <paramref name="accountId"/> the mail limit <paramref name="quotaMegabytes"/> (null: none); null when it may.
    /// </summary>
    internal static async Task<string?> ProblemAsync(PortalDbContext db, string resellerId, string resellerName, long? accountId, bool newAccount, int? quotaMegabytes, CancellationToken ct)
    {
        var limits = await db.ResellerSettings.AsNoTracking().Where(s => s.UserId == resellerId)
            .Select(s => new { s.MaxAccounts, s.MaxDiskMegabytes }).SingleOrDefaultAsync(ct);
        if (limits is null)
        {
            return null;
        }

        var theirs = db.Accounts.Where(a => a.ResellerId == resellerId);
        if (newAccount && limits.MaxAccounts is { } most && await theirs.CountAsync(ct) is var count && count >= most)
        {
            return $"Reseller {resellerName} may own {most} account(s) and owns {count}; an admin raises the limit (Packages, Reseller limits), or an account is terminated first.";
        }

        if (limits.MaxDiskMegabytes is not { } disk)
        {
            return null;
        }

        if (quotaMegabytes is null)
        {
            return $"Reseller {resellerName} may hand out {disk} MiB of disk in all, so each of its accounts needs a mail limit; choose a package that has one, or give the account a mail limit.";
        }

        var others = theirs.Where(a => a.Id != accountId);
        if (await others.Where(a => a.MailQuotaMegabytes == null).Select(a => a.Username).FirstOrDefaultAsync(ct) is { } unlimited)
        {
            return $"Reseller {resellerName} may hand out {disk} MiB of disk in all, but its account {unlimited} has no mail limit; give it one first.";
        }

        var given = await others.SumAsync(a => (long?)a.MailQuotaMegabytes, ct) ?? 0;
        return given + quotaMegabytes > disk
            ? $"Reseller {resellerName} may hand out {disk} MiB of disk in all; its other accounts are given {given} MiB, so at most {Math.Max(0, disk - given)} MiB is left for this one."
            : null;
    }

    /// <summary>
    /// Serialises the checks and changes of one reseller's accounts within the caller's transaction, so two accounts
    /// created at once cannot both take the last place.
    /// </summary>
    internal static async Task LockAsync(PortalDbContext db, string resellerId, CancellationToken ct) =>
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({"reseller-limits:" + resellerId}))", ct);

    /// <summary>What a reseller's usage passes of its limits, in words; null when within them.</summary>
    public static string? Over(ResellerRow r)
    {
        var over = new List<string>();
        if (r.MaxAccounts is { } most && r.AccountCount > most)
        {
            over.Add($"owns {r.AccountCount} accounts, more than {most}");
        }

        if (r.MaxDiskMegabytes is { } disk && (r.AllocatedMegabytes > disk || r.AccountsWithoutLimit > 0))
        {
            over.Add(r.AccountsWithoutLimit > 0 ? $"has {r.AccountsWithoutLimit} account(s) without a mail limit" : $"has handed out {r.AllocatedMegabytes} MiB, more than {disk} MiB");
        }

        return over.Count == 0 ? null : $"Already over: {r.UserName} {string.Join(" and ", over)}; new accounts and larger mail limits are refused until it is within them.";
    }

    private static string Text(int? value, string unit = "") => value is { } v ? $"{v}{unit}" : "no limit";
}
