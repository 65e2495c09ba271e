namespace Portal.Features.Mail;

/// <summary>What one measurement found: accounts measured here and on each child, and children that did not report.</summary>
public sealed record MailUsageSummary(int MeasuredHere, int MeasuredOnChildren, int Warned, IReadOnlyList<string> Problems);

/// <summary>
/// Measures the mail each account keeps, where it is kept: this node sums the Maildirs it serves, and each child
/// reports the accounts it serves for this parent over the node API. The sums become the accounts' disk usage (the
/// accounts grid's Disk column, its sort and resellers' totals: Portal hosts mail only, so an account's disk is its
/// mail). Owners are told when a mailbox passes <see cref="WarnAtPercent"/> of its quota. A recurring job, every
/// <c>Portal:Mail:UsageInterval</c>.
/// </summary>
public sealed class MailUsageService(
    IDbContextFactory<PortalDbContext> dbFactory,
    NodeDirectory directory,
    INodeApiClientFactory clients,
    NotificationService notifications,
    IOptions<PortalSettings> settings,
    TimeProvider clock,
    ILogger<MailUsageService> logger)
{
    public const string RecurringId = "mail-usage";

    /// <summary>A mailbox this full is warned about once; below <see cref="ClearBelowPercent"/> it is warned again next time.</summary>
    public const int WarnAtPercent = 90;

    public const int ClearBelowPercent = 80;

    /// <summary>More than any disk holds: a child reporting more is not believed.</summary>
    private const long MaxReportedBytes = 1L << 50;

    /// <summary>The most mailboxes one account may report (a child's report is untrusted input).</summary>
    private const int MaxReportedMailboxes = 100_000;

    [AutomaticRetry(Attempts = 0)] // the next run is the retry
    [DisableConcurrentExecution(timeoutInSeconds: 600)]
    [JobDisplayName("Measure mail usage")]
    public Task RunAsync(CancellationToken ct) => RefreshAsync(ct);

    /// <summary>Measures every account's mail here and on the children, and records it.</summary>
    public async Task<MailUsageSummary> RefreshAsync(CancellationToken ct = default)
    {
        var here = await MeasureHereAsync(parentNodeId: null, ct);
        await RecordAsync(here.Accounts, mailNodeId: null, ct);
        var usage = new List<(AccountMailUsage Usage, Guid? Node)>(here.Accounts.Select(a => (a, (Guid?)null)));
        var problems = new List<string>();
        var onChildren = 0;
        foreach (var child in await directory.ListLinkedAsync(ct))
        {
            try
            {
                var report = await clients.Create(child.Endpoint, settings.Value.Distribution.ProxyTimeout).GetMailUsageAsync(ct);
                var accepted = await AcceptAsync(child, report, ct);
                await RecordAsync(accepted, child.NodeId, ct);
                usage.AddRange(accepted.Select(a => (a, (Guid?)child.NodeId)));
                onChildren += accepted.Count;
            }
            catch (NodeApiException ex)
            {
                problems.Add($"{child.Alias} did not report its mail usage ({ex.Message}); its accounts keep their last measurement.");
            }
            catch (UntrustedDataException ex)
            {
                logger.LogWarning("Not believing the mail usage {Alias} reported: {Problem}", child.Alias, ex.Message);
                problems.Add($"{child.Alias} reported mail usage Portal does not believe ({ex.Message}); its accounts keep their last measurement.");
            }
        }

        var warned = await WarnAsync(usage, ct);
        if (problems.Count > 0)
        {
            logger.LogWarning("Mail usage measured with problems: {Problems}", string.Join(" ", problems));
        }

        return new MailUsageSummary(here.Accounts.Count, onChildren, warned, problems);
    }

    /// <summary>
    /// The mail this node serves, per account and mailbox: every account whose mail is here (a child's twins among
    /// them), or, for a parent asking over the node API, only that parent's twins.
    /// </summary>
    public async Task<MailUsageReport> MeasureHereAsync(Guid? parentNodeId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var accounts = db.Accounts.AsNoTracking().Where(a => a.MailNodeId == null && a.MailRedirectAddress == null);
        if (parentNodeId is { } parent)
        {
            accounts = accounts.Where(a => a.ParentNodeId == parent);
        }

        var rows = await (from a in accounts
                          join e in db.EmailAccounts on a.Id equals e.AccountId into mailboxes
                          from e in mailboxes.DefaultIfEmpty()
                          select new { a.Username, a.Domain, LocalPart = e == null ? null : e.LocalPart, Quota = e == null ? 0 : e.QuotaBytes }).ToListAsync(ct);
        var mailRoot = settings.Value.MailRoot;
        var report = new List<AccountMailUsage>();
        foreach (var account in rows.GroupBy(r => (r.Username, r.Domain)))
        {
            ct.ThrowIfCancellationRequested();
            if (!MailRules.IsDomain(account.Key.Domain))
            {
                continue; // never a path from a row that breaks the rules (the mail servers leave it out too)
            }

            var mailboxes = account.Where(r => MailRules.IsLocalPart(r.LocalPart)).Select(r =>
            {
                var (messages, bytes) = Maildir.Measure(Maildir.MailboxPath(mailRoot, account.Key.Domain, r.LocalPart!));
                return new MailboxUsage(r.LocalPart!, bytes, messages, r.Quota);
            }).ToList();
            report.Add(new AccountMailUsage(account.Key.Username, mailboxes.Sum(m => m.Bytes), mailboxes));
        }

        return new MailUsageReport(report);
    }

    /// <summary>
    /// What a child reported, checked as strictly as user input before anything is written: each account once, with
    /// mailbox names Portal accepts and sizes a disk can hold that add up, or the whole report is refused. Only the
    /// accounts whose mail this parent sends to that child are taken; others are left out (a copy kept there until its
    /// deletion after a forced dedistribution, or a name the child has no business reporting).
    /// </summary>
    private async Task<IReadOnlyList<AccountMailUsage>> AcceptAsync(LinkedNodeEndpoint child, MailUsageReport? report, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var served = (await db.Accounts.AsNoTracking().Where(a => a.MailNodeId == child.NodeId).Select(a => a.Username).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
        var accounts = report?.Accounts ?? throw new UntrustedDataException("the report is empty");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var account in accounts)
        {
            var name = account?.Username;
            if (name is null || !seen.Add(name))
            {
                throw new UntrustedDataException($"\"{MailRules.Printable(name ?? "")}\" is reported twice, or has no name");
            }

            var mailboxes = account!.Mailboxes ?? throw new UntrustedDataException($"{name}: no mailboxes listed");
            if (mailboxes.Count > MaxReportedMailboxes || account.Bytes is < 0 or > MaxReportedBytes
                || mailboxes.Any(m => m is null || !MailRules.IsLocalPart(m.LocalPart) || m.Bytes is < 0 or > MaxReportedBytes || m.Messages < 0 || m.QuotaBytes < 0)
                || mailboxes.Select(m => m.LocalPart).Distinct(StringComparer.Ordinal).Count() != mailboxes.Count
                || mailboxes.Sum(m => m.Bytes) != account.Bytes)
            {
                throw new UntrustedDataException($"{name}: its mailboxes' names or sizes are not acceptable, or do not add up");
            }
        }

        var taken = accounts.Where(a => served.Contains(a.Username)).ToList();
        if (taken.Count < accounts.Count)
        {
            logger.LogInformation("{Alias} reported the mail of {Count} account(s) whose mail it does not serve for this node; left out", child.Alias, accounts.Count - taken.Count);
        }

        return taken;
    }

    /// <summary>How many accounts' usage one UPDATE writes.</summary>
    private const int RecordBatch = 1000;

    private async Task RecordAsync(IReadOnlyList<AccountMailUsage> usage, Guid? mailNodeId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow();
        // One statement for many accounts. Only where the mail still is: an account that moved meanwhile is measured at
        // its new node next time.
        foreach (var chunk in usage.Chunk(RecordBatch))
        {
            var names = chunk.Select(a => a.Username).ToArray();
            var bytes = chunk.Select(a => a.Bytes).ToArray();
            await db.Database.ExecuteSqlAsync($"""
                UPDATE accounts AS a SET "DiskUsageBytes" = u.bytes, "DiskUsageMeasuredAt" = {now}
                FROM unnest({names}, {bytes}) AS u(name, bytes)
                WHERE a."Username" = u.name AND a."MailNodeId" IS NOT DISTINCT FROM {mailNodeId}
                """, ct);
        }
    }

    /// <summary>
    /// Tells each account owner about a mailbox that passed <see cref="WarnAtPercent"/> of its quota (once, until it
    /// falls below <see cref="ClearBelowPercent"/>). Twins have no owner here: their parent warns.
    /// </summary>
    private async Task<int> WarnAsync(IReadOnlyList<(AccountMailUsage Usage, Guid? Node)> usage, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var names = usage.Select(u => u.Usage.Username).ToList();
        var owners = await db.Accounts.AsNoTracking().Where(a => names.Contains(a.Username) && a.UserId != null)
            .Select(a => new { a.Id, a.Username, a.Domain, a.UserId }).ToDictionaryAsync(a => a.Username, StringComparer.Ordinal, ct);
        var warnings = await db.MailboxQuotaWarnings.ToDictionaryAsync(w => w.Address, StringComparer.Ordinal, ct);
        var warned = 0;
        foreach (var (account, _) in usage)
        {
            if (!owners.TryGetValue(account.Username, out var owner))
            {
                continue;
            }

            foreach (var mailbox in account.Mailboxes.Where(m => m.QuotaBytes > 0))
            {
                var address = $"{mailbox.LocalPart}@{owner.Domain}";
                var percent = (int)Math.Min(999, mailbox.Bytes * 100 / mailbox.QuotaBytes);
                warnings.TryGetValue(address, out var warning);
                if (percent >= WarnAtPercent && warning is null)
                {
                    db.MailboxQuotaWarnings.Add(new MailboxQuotaWarning { Address = address, AccountId = owner.Id, Percent = percent, WarnedAt = clock.GetUtcNow() });
                    await db.SaveChangesAsync(ct);
                    await notifications.NotifyAsync(owner.UserId!, NotificationKind.Error, $"{address} is {percent}% full",
                        $"{address} holds {Units.Bytes(mailbox.Bytes)} of its {Units.Bytes(mailbox.QuotaBytes)} quota. Once it is full, new mail to it is refused " +
                        "(senders are told the mailbox is full). Delete old mail, or raise its quota on the Email accounts page.", "/account/email", ct);
                    warned++;
                }
                else if (percent < ClearBelowPercent && warning is not null)
                {
                    db.MailboxQuotaWarnings.Remove(warning);
                    await db.SaveChangesAsync(ct);
                }
            }
        }

        return warned;
    }
}
