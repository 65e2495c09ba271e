using Microsoft.EntityFrameworkCore;
using Portal.Features.Dns;
using Portal.Features.Identity;
using Portal.Infrastructure.Data;
using Portal.Infrastructure.Security;

namespace Portal.Features.Accounts;

/// <summary>
/// The accounts grid: filtered, sorted and paged in the database (indexes on every filter and sort key), so a page
/// costs the same at 100,000 accounts as at 100. Admins see every account, resellers their own.
/// </summary>
public sealed class AccountQueries(IDbContextFactory<PortalDbContext> dbFactory)
{
    public async Task<AccountPage> FindAsync(Actor actor, AccountQuery query, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin && !actor.IsInRole(PortalRoles.Reseller))
        {
            throw new PortalForbiddenException("Only admins and resellers list accounts.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var accounts = db.Accounts.AsNoTracking().VisibleTo(actor);
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

        var total = await accounts.CountAsync(cancellationToken);
        var rows = accounts.GroupJoin(db.LinkedNodes, a => a.MailNodeId, n => (Guid?)n.Id, (a, nodes) => new { a, nodes })
            .SelectMany(x => x.nodes.DefaultIfEmpty(), (x, n) => new { x.a, Alias = n == null ? null : n.Alias });
        rows = (query.Sort, query.Descending) switch
        {
            (AccountSort.Domain, false) => rows.OrderBy(r => r.a.Domain),
            (AccountSort.Domain, true) => rows.OrderByDescending(r => r.a.Domain),
            (AccountSort.Owner, false) => rows.OrderBy(r => r.a.OwnerName).ThenBy(r => r.a.Username),
            (AccountSort.Owner, true) => rows.OrderByDescending(r => r.a.OwnerName).ThenBy(r => r.a.Username),
            (AccountSort.MailNode, false) => rows.OrderBy(r => r.Alias).ThenBy(r => r.a.Username),
            (AccountSort.MailNode, true) => rows.OrderByDescending(r => r.Alias).ThenBy(r => r.a.Username),
            (AccountSort.Status, false) => rows.OrderBy(r => r.a.Status).ThenBy(r => r.a.Username),
            (AccountSort.Status, true) => rows.OrderByDescending(r => r.a.Status).ThenBy(r => r.a.Username),
            (AccountSort.Created, false) => rows.OrderBy(r => r.a.CreatedAt).ThenBy(r => r.a.Id),
            (AccountSort.Created, true) => rows.OrderByDescending(r => r.a.CreatedAt).ThenByDescending(r => r.a.Id),
            (AccountSort.DiskUsage, false) => rows.OrderBy(r => r.a.DiskUsageBytes).ThenBy(r => r.a.Username),
            (AccountSort.DiskUsage, true) => rows.OrderByDescending(r => r.a.DiskUsageBytes).ThenBy(r => r.a.Username),
            (_, true) => rows.OrderByDescending(r => r.a.Username),
            _ => rows.OrderBy(r => r.a.Username),
        };

        var page = await rows.Skip(Math.Max(0, query.Skip)).Take(Math.Clamp(query.Take, 1, 200)).ToListAsync(cancellationToken);
        return new AccountPage(page.Select(r => AccountRow.From(r.a, r.Alias)).ToArray(), total);
    }

    public async Task<AccountRow> GetAsync(Actor actor, string username, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await AccountAccess.FindVisibleAsync(db, actor, username, cancellationToken);
        var alias = account.MailNodeId is { } id ? await db.LinkedNodes.Where(n => n.Id == id).Select(n => n.Alias).SingleOrDefaultAsync(cancellationToken) : null;
        return AccountRow.From(account, alias);
    }

    /// <summary>Resellers with their mail routing and usage (admins).</summary>
    public async Task<IReadOnlyList<ResellerRow>> ResellersAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins list resellers.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var resellerRole = await db.Roles.Where(r => r.Name == PortalRoles.Reseller).Select(r => r.Id).SingleAsync(cancellationToken);
        var resellers = await (
            from u in db.Users
            join ur in db.UserRoles on u.Id equals ur.UserId
            where ur.RoleId == resellerRole
            join s in db.ResellerSettings on u.Id equals s.UserId into settings
            from s in settings.DefaultIfEmpty()
            join n in db.LinkedNodes on s.MailNodeId equals (Guid?)n.Id into nodes
            from n in nodes.DefaultIfEmpty()
            orderby u.UserName
            select new { u.Id, u.UserName, MailNodeId = s == null ? null : s.MailNodeId, Alias = n == null ? null : n.Alias }).ToListAsync(cancellationToken);
        var usage = await db.Accounts.Where(a => a.ResellerId != null).GroupBy(a => a.ResellerId!)
            .Select(g => new { g.Key, Count = g.Count(), Disk = g.Sum(a => a.DiskUsageBytes) }).ToDictionaryAsync(x => x.Key, cancellationToken);
        return resellers.Select(r => new ResellerRow(r.Id, r.UserName!, r.MailNodeId, r.Alias,
            usage.TryGetValue(r.Id, out var u) ? u.Count : 0, usage.TryGetValue(r.Id, out var d) ? d.Disk : 0)).ToArray();
    }

    /// <summary>A reseller's own routing and usage.</summary>
    public async Task<ResellerRow> ResellerSelfAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        if (!actor.IsInRole(PortalRoles.Reseller) || actor.UserId is null)
        {
            throw new PortalForbiddenException("Only resellers have reseller settings.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var nodeId = await db.ResellerSettings.Where(s => s.UserId == actor.UserId).Select(s => s.MailNodeId).SingleOrDefaultAsync(cancellationToken);
        var alias = nodeId is { } id ? await db.LinkedNodes.Where(n => n.Id == id).Select(n => n.Alias).SingleOrDefaultAsync(cancellationToken) : null;
        var mine = db.Accounts.Where(a => a.ResellerId == actor.UserId);
        return new ResellerRow(actor.UserId, actor.Name, nodeId, alias, await mine.CountAsync(cancellationToken), await mine.SumAsync(a => a.DiskUsageBytes, cancellationToken));
    }

    private static string EscapeLike(string value) => value.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
