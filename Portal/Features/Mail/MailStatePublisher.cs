namespace Portal.Features.Mail;

/// <summary>
/// Builds this node's whole mail state from the database and hands it to the mail-services adapter: the domains and
/// mailboxes served here, their forwarders, and the domains served by another node (proxied and relayed there): a
/// child's, or on a child a twin's whose mail went back to the parent.
/// </summary>
public sealed class MailStatePublisher(IDbContextFactory<PortalDbContext> dbFactory, MailServerAdapter services, IOptions<PortalSettings> settings, ILogger<MailStatePublisher> logger)
{
    public async Task<MailState> BuildAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var mailRoot = settings.Value.MailRoot;
        var local = await db.Accounts.AsNoTracking().Where(a => a.MailNodeId == null && a.MailRedirectAddress == null).Select(a => new { a.Id, a.Domain, a.Status }).ToListAsync(ct);
        // A suspended account's mailboxes stay (its mail is still delivered and kept, unless this node refuses it),
        // but nobody signs in to read it.
        var localIds = local.Select(a => a.Id).ToHashSet();
        var suspendedIds = local.Where(a => a.Status == AccountStatus.Suspended).Select(a => a.Id).ToHashSet();
        var users = await db.EmailAccounts.AsNoTracking().Where(e => localIds.Contains(e.AccountId)).ToListAsync(ct);
        var forwards = await db.Forwarders.AsNoTracking().Where(f => localIds.Contains(f.AccountId)).ToListAsync(ct);
        var routes = await (from a in db.Accounts
                            join n in db.LinkedNodes on a.MailNodeId equals (Guid?)n.Id
                            where a.MailNodeId != null && n.PublicIPv4 != null
                            select new MailRoute(a.Domain, n.PublicIPv4!)).ToListAsync(ct);
        var refused = settings.Value.Mail.SuspendedAccountMail == SuspendedMail.Refuse
            ? await db.Accounts.AsNoTracking().Where(a => a.Status == AccountStatus.Suspended).Select(a => a.Domain).ToListAsync(ct)
            : [];
        // On a child: twins whose mail went back to the parent (or on to another child) and wait for their deletion.
        routes.AddRange(await db.Accounts.AsNoTracking().Where(a => a.MailRedirectAddress != null)
            .Select(a => new MailRoute(a.Domain, a.MailRedirectAddress!)).ToListAsync(ct));
        // What goes into the servers' files passes the rules, whatever the database holds (rows written before the
        // rules, or by someone with the database): a bad row is left out and said, and never stops the others.
        var goodUsers = users.Where(u => Acceptable(MailRules.IsLocalPart(u.LocalPart) && MailRules.IsDomain(u.Domain) && MailRules.IsPasswordHash(u.PasswordHash), "mailbox", u.Address)).ToList();
        var goodForwards = forwards.Where(f => Acceptable(
            (f.IsPipe ? MailRules.IsPipeCommand(f.Destination) : MailRules.IsSingleAddress(f.Destination)) && MailRules.IsSingleAddress(f.Source), "forwarder", f.Source)).ToList();
        // A parent's distributed mailboxes send through it too: their hashes as the child last confirmed them.
        var submitters = new List<MailSubmitter>();
        foreach (var distributed in await db.Accounts.AsNoTracking().Where(a => a.MailNodeId != null && a.MailSettingsSnapshot != null && a.Status == AccountStatus.Active)
                     .Select(a => new { a.Domain, a.MailSettingsSnapshot }).ToListAsync(ct))
        {
            try
            {
                var configuration = JsonSerializer.Deserialize<MailConfiguration>(distributed.MailSettingsSnapshot!);
                if (configuration is not null && MailRules.Problems(configuration, distributed.Domain).Count == 0)
                {
                    submitters.AddRange(configuration.Addresses.Select(a => new MailSubmitter($"{a.LocalPart}@{distributed.Domain}", a.PasswordHash)));
                }
                else
                {
                    Acceptable(false, "kept mail settings of", distributed.Domain);
                }
            }
            catch (JsonException)
            {
                Acceptable(false, "kept mail settings of", distributed.Domain);
            }
        }

        var goodRoutes = routes.Where(r => Acceptable(ReportedAddress.IsAcceptable(r.NodeAddress) && MailRules.IsDomain(r.Domain), "route", r.Domain)).ToList();
        return new MailState(
            local.Select(a => a.Domain).Where(MailRules.IsDomain).ToArray(),
            goodUsers.Select(u => new MailUser(u.Address, u.PasswordHash, Maildir.MailboxPath(mailRoot, u.Domain, u.LocalPart), u.QuotaBytes,
                LoginRefused: suspendedIds.Contains(u.AccountId), Sieve: SieveOf(u))).ToArray(),
            goodForwards.Select(f => new MailForward(f.Source, f.Destination, f.IsPipe, f.Enabled)).ToArray(),
            goodRoutes,
            refused.Where(MailRules.IsDomain).ToArray(),
            submitters);
    }

    /// <summary>
    /// Ends the open IMAP/POP3 sessions of an account's mailboxes here (after a suspension: Dovecot refuses new logins,
    /// but an open session would go on). A failure is logged, not thrown: the suspension itself is made.
    /// </summary>
    public async Task EndSessionsAsync(long accountId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await EndSessionsAsync(await db.EmailAccounts.AsNoTracking().Where(e => e.AccountId == accountId).Select(e => e.Address).ToListAsync(ct), ct);
    }

    /// <summary>Ends the open IMAP/POP3 sessions of these addresses here (ones that no longer exist, after a domain change).</summary>
    public async Task EndSessionsAsync(IEnumerable<string> addresses, CancellationToken ct = default)
    {
        foreach (var address in addresses)
        {
            try
            {
                await services.EndSessionsAsync(address, ct);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ExternalProgramException or ExternalProgramTimeoutException)
            {
                logger.LogWarning(ex, "The open IMAP/POP3 sessions of {Address} could not be ended", address);
            }
        }
    }

    /// <summary>The mailbox's Sieve script; settings that break the rules (written around Portal) are left out and said.</summary>
    private string? SieveOf(EmailAccount mailbox)
    {
        try
        {
            return SieveScript.Render(mailbox.Sieve, mailbox.Address);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or NotSupportedException)
        {
            Acceptable(false, "autoresponder and filters of", mailbox.Address);
            return null;
        }
    }

    private bool Acceptable(bool ok, string what, string name)
    {
        if (!ok)
        {
            logger.LogWarning("Left out of the mail servers' files: the {What} {Name} breaks Portal's mail rules (fix or remove it)", what, MailRules.Printable(name));
        }

        return ok;
    }

    /// <summary>Deletes the homes of a domain's mailboxes here (see <see cref="MailServerAdapter.DiscardHomesOf"/>).</summary>
    public int DiscardHomesOf(string domain) => services.DiscardHomesOf(domain);

    /// <summary>Renames the homes of a domain's mailboxes for its new name (see <see cref="MailServerAdapter.RenameHomes"/>).</summary>
    public int RenameHomes(string oldDomain, string newDomain) => services.RenameHomes(oldDomain, newDomain);

    public async Task RepublishAsync(CancellationToken ct = default) => await services.PublishAsync(await BuildAsync(ct), ct);
}
