using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Portal.Infrastructure.Configuration;
using Portal.Infrastructure.Data;
using Portal.Jobs.Mail;

namespace Portal.Features.Mail;

/// <summary>
/// Builds this node's whole mail state from the database and hands it to the mail-services adapter: the domains and
/// mailboxes served here, their forwarders, and the domains served by another node (proxied and relayed there): a
/// child's, or on a child a twin's whose mail went back to the parent.
/// </summary>
public sealed class MailStatePublisher(IDbContextFactory<PortalDbContext> dbFactory, MailServices services, IOptions<PortalSettings> settings)
{
    public async Task<MailState> BuildAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var mailRoot = settings.Value.MailRoot;
        var local = await db.Accounts.AsNoTracking().Where(a => a.MailNodeId == null && a.MailRedirectAddress == null).Select(a => new { a.Id, a.Domain, a.Status }).ToListAsync(ct);
        // A suspended account keeps its domain (mail for it is still accepted and kept) but nobody signs in to read it.
        var localIds = local.Where(a => a.Status == Accounts.AccountStatus.Active).Select(a => a.Id).ToHashSet();
        var users = await db.EmailAccounts.AsNoTracking().Where(e => localIds.Contains(e.AccountId)).ToListAsync(ct);
        var forwards = await db.Forwarders.AsNoTracking().Where(f => localIds.Contains(f.AccountId)).ToListAsync(ct);
        var routes = await (from a in db.Accounts
                            join n in db.LinkedNodes on a.MailNodeId equals (Guid?)n.Id
                            where a.MailNodeId != null && n.PublicIPv4 != null
                            select new MailRoute(a.Domain, n.PublicIPv4!)).ToListAsync(ct);
        // On a child: twins whose mail went back to the parent (or on to another child) and wait for their deletion.
        routes.AddRange(await db.Accounts.AsNoTracking().Where(a => a.MailRedirectAddress != null)
            .Select(a => new MailRoute(a.Domain, a.MailRedirectAddress!)).ToListAsync(ct));
        return new MailState(
            local.Select(a => a.Domain).ToArray(),
            users.Select(u => new MailUser(u.Address, u.PasswordHash, Maildir.MailboxPath(mailRoot, u.Domain, u.LocalPart), u.QuotaBytes)).ToArray(),
            forwards.Select(f => new MailForward(f.Source, f.Destination, f.IsPipe, f.Enabled)).ToArray(),
            routes);
    }

    public async Task RepublishAsync(CancellationToken ct = default) => await services.PublishAsync(await BuildAsync(ct), ct);
}
