namespace Portal.Features.Accounts;

/// <summary>
/// The accounts grid: filtered, sorted and paged in the database (indexes on every filter and sort key), so a page
/// costs the same at 100,000 accounts as at 100. Admins see every account, resellers their own.
/// </summary>
public sealed class AccountQueries(IDbContextFactory<PortalDbContext> dbFactory, AccountOrderCache orders)
{
    public async Task<AccountPage> FindAsync(Actor actor, AccountQuery query, CancellationToken cancellationToken = default)
    {
        if (!actor.ManagesAccounts)
        {
            throw new PortalForbiddenException("Only admins and resellers list accounts.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var accounts = Filtered(db.Accounts.AsNoTracking().VisibleTo(actor), query);
        var total = await accounts.CountAsync(cancellationToken);

        var skip = Math.Max(0, query.Skip);
        var take = Math.Clamp(query.Take, 1, 200);

        // A page past the middle is read from the other end: the index is scanned for at most half the rows; deep into
        // a large order, the order's ids come from the cache (see AccountOrderCache).
        var deep = Math.Min(skip, Math.Max(0, total - skip - take)) >= AccountOrderCache.DeepPageThreshold;
        var fromEnd = !deep && skip > total / 2;
        if (fromEnd)
        {
            take = Math.Max(0, Math.Min(take, total - skip));
            skip = Math.Max(0, total - skip - take);
        }

        var descending = query.Descending != fromEnd;

        // With a prefix filter on another column, the filter's index finds the few matching rows and they are sorted;
        // sorting by an expression keeps PostgreSQL from walking the whole sort index instead, filtering as it goes.
        var filtered = !string.IsNullOrWhiteSpace(query.Domain) || (!string.IsNullOrWhiteSpace(query.Username) && query.Sort != AccountSort.Username);

        // Every secondary key follows the primary's direction, so each order is one index read forwards or backwards.
        var ordered = (query.Sort, descending) switch
        {
            (AccountSort.Domain, false) => accounts.OrderBy(a => a.Domain),
            (AccountSort.Domain, true) => accounts.OrderByDescending(a => a.Domain),
            (AccountSort.Owner, false) => accounts.OrderBy(a => a.OwnerName).ThenBy(a => a.Username),
            (AccountSort.Owner, true) => accounts.OrderByDescending(a => a.OwnerName).ThenByDescending(a => a.Username),
            (AccountSort.MailNode, false) => accounts.OrderBy(a => a.MailNodeAlias).ThenBy(a => a.Username),
            (AccountSort.MailNode, true) => accounts.OrderByDescending(a => a.MailNodeAlias).ThenByDescending(a => a.Username),
            (AccountSort.Status, false) => accounts.OrderBy(a => a.Status).ThenBy(a => a.Username),
            (AccountSort.Status, true) => accounts.OrderByDescending(a => a.Status).ThenByDescending(a => a.Username),
            (AccountSort.Created, false) => accounts.OrderBy(a => a.CreatedAt).ThenBy(a => a.Id),
            (AccountSort.Created, true) => accounts.OrderByDescending(a => a.CreatedAt).ThenByDescending(a => a.Id),
            (AccountSort.DiskUsage, false) => accounts.OrderBy(a => a.DiskUsageBytes).ThenBy(a => a.Username),
            (AccountSort.DiskUsage, true) => accounts.OrderByDescending(a => a.DiskUsageBytes).ThenByDescending(a => a.Username),
            (AccountSort.Username, false) when filtered => accounts.OrderBy(a => a.Username + ""),
            (AccountSort.Username, true) when filtered => accounts.OrderByDescending(a => a.Username + ""),
            (_, true) => accounts.OrderByDescending(a => a.Username),
            _ => accounts.OrderBy(a => a.Username),
        };

        // A deferred join: the page's ids come from an index-only scan, then only those rows are read.
        List<long> ids;
        if (deep)
        {
            var key = $"{actor.UserId}|{(actor.IsAdmin ? "admin" : "reseller")}|{query with { Skip = 0, Take = 0 }}";
            var order = await orders.GetAsync(key, () => ordered.Select(a => a.Id).ToArrayAsync(cancellationToken));
            ids = order.Skip(skip).Take(take).ToList();
            if (ids.Count == 0 && skip < total)
            {
                // The cached order is shorter than the fresh count (accounts added elsewhere): read the page directly.
                ids = await ordered.Skip(skip).Take(take).Select(a => a.Id).ToListAsync(cancellationToken);
            }
        }
        else
        {
            ids = take == 0 ? [] : await ordered.Skip(skip).Take(take).Select(a => a.Id).ToListAsync(cancellationToken);
        }

        if (fromEnd)
        {
            ids.Reverse();
        }

        var rows = await db.Accounts.AsNoTracking().Where(a => ids.Contains(a.Id)).ToDictionaryAsync(a => a.Id, cancellationToken);
        var packageIds = rows.Values.Where(a => a.PackageId != null).Select(a => a.PackageId!.Value).Distinct().ToList();
        var packages = packageIds.Count == 0 ? [] : await db.Packages.Where(p => packageIds.Contains(p.Id)).ToDictionaryAsync(p => p.Id, p => p.Name, cancellationToken);
        return new AccountPage(ids.Select(id => AccountRow.From(rows[id]) with { Package = rows[id].PackageId is { } p ? packages.GetValueOrDefault(p) : null }).ToArray(), total);
    }

    /// <summary>
    /// The user names of every account the filters of <paramref name="query"/> match (its sort and page are ignored), for
    /// acting on a filtered set; refused when more than <paramref name="max"/> match.
    /// </summary>
    public async Task<IReadOnlyList<string>> UsernamesAsync(Actor actor, AccountQuery query, int max, CancellationToken cancellationToken = default)
    {
        if (!actor.ManagesAccounts)
        {
            throw new PortalForbiddenException("Only admins and resellers list accounts.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var names = await Filtered(db.Accounts.AsNoTracking().VisibleTo(actor), query).Where(a => a.ParentNodeId == null)
            .OrderBy(a => a.Username).Select(a => a.Username).Take(max + 1).ToListAsync(cancellationToken);
        return names.Count > max
            ? throw new PortalValidationException($"More than {max} accounts match; narrow the filter.", code: "query.too_many")
            : names;
    }

    /// <summary>The grid's filters (user name and domain prefixes, owner, mail node, status) on a set of accounts.</summary>
    private static IQueryable<Account> Filtered(IQueryable<Account> accounts, AccountQuery query)
    {
        if (!string.IsNullOrWhiteSpace(query.Username))
        {
            var prefix = EscapeLike(query.Username.Trim().ToLowerInvariant());
            accounts = accounts.Where(a => EF.Functions.Like(a.Username, prefix + "%"));
        }

        if (!string.IsNullOrWhiteSpace(query.Domain))
        {
            var ascii = DomainNames.ToAsciiPrefix(query.Domain);
            accounts = accounts.Where(a => EF.Functions.Like(a.Domain, EscapeLike(ascii) + "%"));
        }

        if (!string.IsNullOrWhiteSpace(query.Owner))
        {
            accounts = accounts.Where(a => a.OwnerName == query.Owner.Trim());
        }

        if (query.MailNode is { Length: > 0 } mailNode)
        {
            if (mailNode == AccountQuery.LocalMail)
            {
                accounts = accounts.Where(a => a.MailNodeId == null);
            }
            else if (Guid.TryParse(mailNode, out var nodeId))
            {
                accounts = accounts.Where(a => a.MailNodeId == nodeId);
            }
            else
            {
                throw new PortalValidationException($"The mail node filter is \"{AccountQuery.LocalMail}\" or a node id; \"{mailNode}\" is neither.", code: "query.invalid");
            }
        }

        if (query.Status is { } status)
        {
            accounts = accounts.Where(a => a.Status == status);
        }

        return accounts;
    }

    public async Task<AccountRow> GetAsync(Actor actor, string username, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await AccountAccess.FindVisibleAsync(db, actor, username, cancellationToken);
        var package = account.PackageId is { } id ? await db.Packages.Where(p => p.Id == id).Select(p => p.Name).SingleOrDefaultAsync(cancellationToken) : null;
        return AccountRow.From(account) with { Package = package };
    }

    /// <summary>Resellers with their mail routing and usage (admins).</summary>
    public async Task<IReadOnlyList<ResellerRow>> ResellersAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins list resellers.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var resellers = await (
            from u in db.Users
            join ur in db.UserRoles on u.Id equals ur.UserId
            join role in db.Roles on ur.RoleId equals role.Id
            where role.Name == PortalRoles.Reseller
            join s in db.ResellerSettings on u.Id equals s.UserId into settings
            from s in settings.DefaultIfEmpty()
            join n in db.LinkedNodes on s.MailNodeId equals (Guid?)n.Id into nodes
            from n in nodes.DefaultIfEmpty()
            orderby u.UserName
            select new
            {
                u.Id, u.UserName, MailNodeId = s == null ? null : s.MailNodeId, Alias = n == null ? null : n.Alias,
                MaxAccounts = s == null ? null : s.MaxAccounts, MaxDisk = s == null ? null : s.MaxDiskMegabytes,
            }).ToListAsync(cancellationToken);
        var usage = await ResellerLimits.UsageAsync(db, null, cancellationToken);
        return resellers.Select(r =>
        {
            var u = usage.GetValueOrDefault(r.Id);
            return new ResellerRow(r.Id, r.UserName!, r.MailNodeId, r.Alias, u?.Accounts ?? 0, u?.DiskBytes ?? 0, r.MaxAccounts, r.MaxDisk, u?.AllocatedMegabytes ?? 0, u?.WithoutLimit ?? 0);
        }).ToArray();
    }

    /// <summary>A reseller's own routing, usage and limits.</summary>
    public async Task<ResellerRow> ResellerSelfAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        if (!actor.IsInRole(PortalRoles.Reseller) || actor.UserId is null)
        {
            throw new PortalForbiddenException("Only resellers have reseller settings.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await ResellerLimits.RowAsync(db, actor.UserId, actor.Name, cancellationToken);
    }

    private static string EscapeLike(string value) => value.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
