namespace Portal.Features.Mail;

/// <summary>
/// The mail functions of accounts whose mail this node serves: email accounts (Maildir, SHA512-CRYPT password,
/// quota) and forwarders. Every change republishes the node's mail state for Dovecot and Postfix.
/// </summary>
public sealed class MailService(
    IDbContextFactory<PortalDbContext> dbFactory,
    MailStatePublisher publisher,
    PasswordPolicyService passwords,
    IOptions<PortalSettings> settings,
    AuditLog audit,
    TimeProvider clock)
{
    private string MailRoot => settings.Value.MailRoot;

    public async Task<IReadOnlyList<EmailAccountRow>> ListAsync(Account account, CancellationToken ct = default) =>
        (await PageAsync(account, new MailListQuery(Take: int.MaxValue), ct)).Items;

    /// <summary>Each of the account's mailboxes and its quota in bytes (0: none), as the database has them; nothing measured.</summary>
    public async Task<IReadOnlyList<(string Address, long QuotaBytes)>> QuotasAsync(Account account, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return (await db.EmailAccounts.AsNoTracking().Where(e => e.AccountId == account.Id).Select(e => new { e.Address, e.QuotaBytes }).ToListAsync(ct))
            .Select(e => (e.Address, e.QuotaBytes)).ToList();
    }

    /// <summary>A page of the account's mailboxes, filtered and counted in the database; only the page's are measured.</summary>
    public async Task<MailPage<EmailAccountRow>> PageAsync(Account account, MailListQuery query, CancellationToken ct = default)
    {
        var (search, skip, take) = (query.Search?.Trim().ToLowerInvariant(), Math.Max(0, query.Skip), Math.Max(1, query.Take));
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var matching = db.EmailAccounts.AsNoTracking().Where(e => e.AccountId == account.Id);
        if (!string.IsNullOrEmpty(search))
        {
            matching = matching.Where(e => e.Address.Contains(search));
        }

        var total = await matching.CountAsync(ct);
        var rows = await matching.OrderBy(e => e.Address).Skip(skip).Take(take).ToListAsync(ct);
        return new MailPage<EmailAccountRow>(rows.Select(e =>
        {
            var (messages, bytes) = Maildir.Measure(Maildir.MailboxPath(MailRoot, e.Domain, e.LocalPart));
            return new EmailAccountRow(e.Address, e.QuotaBytes, bytes, messages, e.CreatedAt);
        }).ToArray(), total);
    }

    public async Task<EmailAccountRow> CreateAsync(Actor actor, Account account, NewEmailAccount request, CancellationToken ct = default)
    {
        var local = request.LocalPart?.Trim().ToLowerInvariant() ?? "";
        var address = $"{local}@{account.Domain}";
        var problems = new List<string>();
        if (!MailRules.IsLocalPart(local))
        {
            problems.Add(MailRules.LocalPartRule);
        }

        var verdict = await passwords.EvaluateAsync(PasswordScope.Email, request.Password, [local, account.Domain, account.Username], ct);
        var weak = verdict.Problem;
        var audited = new List<string>(problems);
        if (weak is not null)
        {
            problems.Add(weak);
            audited.Add(verdict.AuditProblem!);
        }
        if (request.QuotaMegabytes is < 0 or > MaxQuotaMegabytes)
        {
            problems.Add(QuotaRule);
            audited.Add(problems[^1]);
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (problems.Count == 0 && await db.EmailAccounts.AnyAsync(e => e.Address == address, ct))
        {
            problems.Add($"{address} already exists.");
            audited.Add(problems[^1]);
        }

        if (problems.Count > 0)
        {
            await audit.RecordAsync(actor, "email.create", address, AuditOutcome.Refused, string.Join(" ", audited), ct);
            // A weak password makes the code password.too_weak even beside other problems: whoever audits the refusal
            // (a parent, for a proxied change) then knows to keep nothing of the message.
            var code = weak is not null ? PolicyPasswordValidator.Code : "email.invalid";
            throw new PortalValidationException($"{address} was not created: " + string.Join(" ", problems), problems, code)
            {
                AuditText = $"{address} was not created: " + string.Join(" ", audited),
            };
        }

        var now = clock.GetUtcNow();
        var quota = (request.QuotaMegabytes ?? settings.Value.Mail.DefaultQuotaMegabytes) * 1024L * 1024;
        var row = new EmailAccount
        {
            AccountId = account.Id,
            LocalPart = local,
            Domain = account.Domain,
            Address = address,
            PasswordHash = ShaCrypt.HashForDovecot(request.Password),
            QuotaBytes = quota,
            CreatedAt = now,
            PasswordChangedAt = now,
        };
        db.EmailAccounts.Add(row);
        await db.SaveChangesAsync(ct);
        Maildir.CreateMailbox(Maildir.MailboxPath(MailRoot, account.Domain, local));
        await publisher.RepublishAsync(ct);
        await audit.RecordAsync(actor, "email.create", address, AuditOutcome.Succeeded, $"Quota {quota} bytes.", ct);
        return new EmailAccountRow(address, quota, 0, 0, now);
    }

    public async Task DeleteAsync(Actor actor, Account account, string address, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await FindAsync(db, account, address, ct);
        db.EmailAccounts.Remove(row);
        db.Forwarders.RemoveRange(db.Forwarders.Where(f => f.AccountId == account.Id && f.Source == row.Address));
        await db.SaveChangesAsync(ct);
        await publisher.RepublishAsync(ct);
        var mailbox = Maildir.MailboxPath(MailRoot, row.Domain, row.LocalPart);
        if (Directory.Exists(mailbox))
        {
            Directory.Delete(mailbox, recursive: true);
        }

        await audit.RecordAsync(actor, "email.delete", address, AuditOutcome.Succeeded, "Mailbox and its mail removed.", ct);
    }

    public async Task ChangePasswordAsync(Actor actor, Account account, string address, string password, CancellationToken ct = default)
    {
        if (await passwords.EvaluateAsync(PasswordScope.Email, password, [address, account.Username], ct) is { Problem: { } weak } verdict)
        {
            await audit.RecordAsync(actor, "email.password", address, AuditOutcome.Refused, verdict.AuditProblem, ct);
            throw new PortalValidationException($"The password of {address} was not changed: {weak}", [weak], PolicyPasswordValidator.Code);
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await FindAsync(db, account, address, ct);
        row.PasswordHash = ShaCrypt.HashForDovecot(password);
        row.PasswordChangedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        await publisher.RepublishAsync(ct);
        await audit.RecordAsync(actor, "email.password", address, AuditOutcome.Succeeded, null, ct);
    }

    /// <summary>The largest mailbox quota, 10 TiB in MiB.</summary>
    public const int MaxQuotaMegabytes = 10_485_760;

    public const string QuotaRule = "The quota must be between 0 (none) and 10485760 MiB.";

    /// <summary>
    /// A mailbox's new quota: Dovecot enforces it from the next delivery or login on (the passwd-file is read again
    /// within a second), and Postfix refuses mail for a mailbox that has reached it. Lowering it below what the mailbox
    /// holds keeps every message; new mail is refused until some are deleted or the quota is raised.
    /// </summary>
    public async Task ChangeQuotaAsync(Actor actor, Account account, string address, int quotaMegabytes, CancellationToken ct = default)
    {
        if (quotaMegabytes is < 0 or > MaxQuotaMegabytes)
        {
            await audit.RecordAsync(actor, "email.quota", address, AuditOutcome.Refused, QuotaRule, ct);
            throw new PortalValidationException($"The quota of {address} was not changed: {QuotaRule}", [QuotaRule], "email.invalid");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await FindAsync(db, account, address, ct);
        var before = row.QuotaBytes;
        row.QuotaBytes = quotaMegabytes * 1024L * 1024;
        await db.SaveChangesAsync(ct);
        await publisher.RepublishAsync(ct);
        await audit.RecordAsync(actor, "email.quota", row.Address, AuditOutcome.Succeeded,
            $"Quota {QuotaText(before)} -> {QuotaText(row.QuotaBytes)}.", ct);
    }

    /// <summary>A mailbox's autoresponder and filters (<see cref="MailboxSieve.None"/> when it has none).</summary>
    public async Task<MailboxSieve> GetSieveAsync(Account account, string address, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return (await FindAsync(db, account, address, ct)).Sieve ?? MailboxSieve.None;
    }

    /// <summary>
    /// Sets a mailbox's autoresponder and filters: checked whole against <see cref="SieveScript.Problems"/>, then the
    /// mailbox's Sieve script is written and Dovecot runs it from the next delivery on.
    /// </summary>
    public async Task<MailboxSieve> SetSieveAsync(Actor actor, Account account, string address, MailboxSieve? sieve, CancellationToken ct = default)
    {
        sieve = sieve is null ? MailboxSieve.None : sieve with { Filters = sieve.Filters ?? [] };
        if (SieveScript.Problems(sieve) is { Count: > 0 } problems)
        {
            await audit.RecordAsync(actor, "email.sieve", address, AuditOutcome.Refused, string.Join(" ", problems), ct);
            throw new PortalValidationException($"The autoresponder and filters of {address} were not changed: " + string.Join(" ", problems), problems, "email.sieve_invalid");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await FindAsync(db, account, address, ct);
        row.Sieve = sieve;
        await db.SaveChangesAsync(ct);
        await publisher.RepublishAsync(ct);
        await audit.RecordAsync(actor, "email.sieve", row.Address, AuditOutcome.Succeeded,
            $"Autoresponder {(sieve.Vacation is { Enabled: true } ? "on" : "off")}, {sieve.Filters.Count} filter(s).", ct);
        return sieve;
    }

    private static string QuotaText(long bytes) => bytes > 0 ? $"{bytes / (1024 * 1024)} MiB" : "none";

    public async Task<IReadOnlyList<ForwarderRow>> ListForwardersAsync(Account account, CancellationToken ct = default) =>
        (await PageForwardersAsync(account, new MailListQuery(Take: int.MaxValue), ct)).Items;

    /// <summary>A page of the account's forwarders, matching the search in their address or destination.</summary>
    public async Task<MailPage<ForwarderRow>> PageForwardersAsync(Account account, MailListQuery query, CancellationToken ct = default)
    {
        var (search, skip, take) = (query.Search?.Trim().ToLowerInvariant(), Math.Max(0, query.Skip), Math.Max(1, query.Take));
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var matching = db.Forwarders.AsNoTracking().Where(f => f.AccountId == account.Id);
        if (!string.IsNullOrEmpty(search))
        {
            matching = matching.Where(f => f.Source.Contains(search) || f.Destination.ToLower().Contains(search));
        }

        var total = await matching.CountAsync(ct);
        var rows = await matching.OrderBy(f => f.Source).ThenBy(f => f.Id).Skip(skip).Take(take).ToListAsync(ct);
        return new MailPage<ForwarderRow>(rows.Select(f => RowOf(f, account)).ToList(), total);
    }

    private static ForwarderRow RowOf(Forwarder f, Account account) =>
        new(f.Id, f.Source, f.Destination, f.IsPipe, f.Enabled, f.Enabled ? null : DisabledReason(f.IsPipe, MailIsElsewhere(account)));

    /// <summary>Whether this account's mail is served apart from its site (a twin here, or mail on a child).</summary>
    private static bool MailIsElsewhere(Account account) => account.IsTwin || account.MailNodeId is not null;

    /// <summary>Why a forwarder does not forward, as its owner reads it.</summary>
    public static string DisabledReason(bool isPipe, bool mailElsewhere) => (isPipe, mailElsewhere) switch
    {
        (true, true) => "Off while this account's mail is served by a separate mail server: the program would run there, not where the site is. It can be turned on once the mail is back with the site.",
        (true, false) => "Off: moving the mail to a separate mail server turns programs off, or it was turned off here. The mail is served with the site now: turn it on to run the program again.",
        _ => "Off: turned off here. Turn it on to forward again.",
    };

    public const string PipeElsewhereRule = "Forwarding to a program is not available while this account's mail is served by a separate mail server (the program would run there, not where your site is). Forward to an address instead.";

    public async Task<ForwarderRow> AddForwarderAsync(Actor actor, Account account, NewForwarder request, CancellationToken ct = default)
    {
        var local = request.LocalPart?.Trim().ToLowerInvariant() ?? "";
        var source = $"{local}@{account.Domain}";
        var destination = request.Destination?.Trim() ?? "";
        var problems = new List<string>();
        if (!MailRules.IsLocalPart(local))
        {
            problems.Add(MailRules.LocalPartRule);
        }

        problems.AddRange(DestinationProblems(account, source, destination, request.IsPipe, enabled: true));
        if (problems.Count > 0)
        {
            await audit.RecordAsync(actor, "forwarder.create", source, AuditOutcome.Refused, string.Join(" ", problems), ct);
            throw new PortalValidationException($"The forwarder of {source} was not added: " + string.Join(" ", problems), problems, "forwarder.invalid");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = new Forwarder { AccountId = account.Id, Source = source, Destination = destination, IsPipe = request.IsPipe, Enabled = true, CreatedAt = clock.GetUtcNow() };
        db.Forwarders.Add(row);
        await db.SaveChangesAsync(ct);
        await publisher.RepublishAsync(ct);
        await audit.RecordAsync(actor, "forwarder.create", source, AuditOutcome.Succeeded, request.IsPipe ? $"Pipe to {destination}" : $"To {destination}", ct);
        return RowOf(row, account);
    }

    /// <summary>What is wrong with a forwarder's destination (a program or an address) and its being on.</summary>
    private static IEnumerable<string> DestinationProblems(Account account, string source, string destination, bool isPipe, bool enabled)
    {
        if (isPipe)
        {
            if (enabled && MailIsElsewhere(account))
            {
                yield return PipeElsewhereRule;
            }
            else if (!MailRules.IsPipeCommand(destination))
            {
                yield return "Give the program as an absolute path on one line, for example /home/site/bin/ticket-import.";
            }
        }
        else if (!MailRules.IsSingleAddress(destination))
        {
            yield return $"\"{MailRules.Printable(destination)}\" is not an email address to forward to: give one address, like name@example.com, without spaces or commas.";
        }
        else if (string.Equals(destination, source, StringComparison.OrdinalIgnoreCase))
        {
            yield return "An address cannot forward to itself.";
        }
    }

    /// <summary>
    /// Changes where a forwarder sends mail and whether it does (its address and kind stay: to change those, delete it
    /// and add another). A pipe cannot be turned on while the account's mail is served apart from its site.
    /// </summary>
    public async Task<ForwarderRow> UpdateForwarderAsync(Actor actor, Account account, long id, ForwarderChange change, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.Forwarders.SingleOrDefaultAsync(f => f.Id == id && f.AccountId == account.Id, ct)
            ?? throw new PortalNotFoundException("There is no such forwarder on this account.");
        var destination = change.Destination?.Trim() ?? "";
        var problems = DestinationProblems(account, row.Source, destination, row.IsPipe, change.Enabled).ToList();
        if (problems.Count > 0)
        {
            await audit.RecordAsync(actor, "forwarder.update", row.Source, AuditOutcome.Refused, string.Join(" ", problems), ct);
            throw new PortalValidationException($"The forwarder of {row.Source} was not changed: " + string.Join(" ", problems), problems,
                row.IsPipe && change.Enabled && MailIsElsewhere(account) ? "forwarder.pipe_distributed" : "forwarder.invalid");
        }

        var before = $"{(row.IsPipe ? "pipe to " : "to ")}{row.Destination}, {(row.Enabled ? "on" : "off")}";
        row.Destination = destination;
        row.Enabled = change.Enabled;
        await db.SaveChangesAsync(ct);
        await publisher.RepublishAsync(ct);
        await audit.RecordAsync(actor, "forwarder.update", row.Source, AuditOutcome.Succeeded,
            $"Was {before}; now {(row.IsPipe ? "pipe to " : "to ")}{row.Destination}, {(row.Enabled ? "on" : "off")}.", ct);
        return RowOf(row, account);
    }

    public async Task DeleteForwarderAsync(Actor actor, Account account, long id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.Forwarders.SingleOrDefaultAsync(f => f.Id == id && f.AccountId == account.Id, ct)
            ?? throw new PortalNotFoundException("There is no such forwarder on this account.");
        db.Forwarders.Remove(row);
        await db.SaveChangesAsync(ct);
        await publisher.RepublishAsync(ct);
        await audit.RecordAsync(actor, "forwarder.delete", row.Source, AuditOutcome.Succeeded, row.IsPipe ? $"Pipe to {row.Destination}" : $"To {row.Destination}", ct);
    }

    /// <summary>The local parts of the account's mailboxes on this node.</summary>
    public async Task<IReadOnlyList<string>> LocalPartsAsync(Account account, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.EmailAccounts.AsNoTracking().Where(e => e.AccountId == account.Id).OrderBy(e => e.LocalPart).Select(e => e.LocalPart).ToListAsync(ct);
    }

    /// <summary>The account's mail on this node, in messages and bytes.</summary>
    public async Task<(long Messages, long Bytes)> MeasureAsync(Account account, CancellationToken ct = default)
    {
        long messages = 0, bytes = 0;
        foreach (var local in await LocalPartsAsync(account, ct))
        {
            var (m, b) = Maildir.Measure(Maildir.MailboxPath(MailRoot, account.Domain, local));
            messages += m;
            bytes += b;
        }

        return (messages, bytes);
    }

    /// <summary>
    /// Removes all of an account's mail here, whole: its domain's folder under the mail root (out of service with one
    /// rename into the trash, then deleted) and its mailboxes' homes.
    /// </summary>
    public Task DeleteMailDataAsync(Account account, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        MailTrash.Discard(MailRoot, Maildir.DomainFolder(MailRoot, account.Domain));
        publisher.DiscardHomesOf(account.Domain);
        MailTrash.Empty(MailRoot);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Gives the account's email accounts and forwarders a new domain in the caller's unit of work: addresses become
    /// local@new, forwarders from the old domain (and a catch-all) come from the new one, and forwarding to an address
    /// of the old domain forwards to the same address of the new one. Pipes and other destinations stay.
    /// </summary>
    public static async Task ChangeDomainAsync(PortalDbContext db, long accountId, string oldDomain, string newDomain, CancellationToken ct)
    {
        var suffix = "@" + oldDomain;
        foreach (var address in await db.EmailAccounts.Where(e => e.AccountId == accountId).ToListAsync(ct))
        {
            address.Domain = newDomain;
            address.Address = $"{address.LocalPart}@{newDomain}";
        }

        foreach (var forwarder in await db.Forwarders.Where(f => f.AccountId == accountId).ToListAsync(ct))
        {
            forwarder.Source = Rewrite(forwarder.Source);
            if (!forwarder.IsPipe)
            {
                forwarder.Destination = Rewrite(forwarder.Destination);
            }
        }

        string Rewrite(string address) =>
            address.EndsWith(suffix, StringComparison.Ordinal) ? address[..^suffix.Length] + "@" + newDomain : address;
    }

    /// <summary>The same change in a configuration kept as JSON (a distributed account's settings on its parent).</summary>
    public static MailConfiguration ChangeDomain(MailConfiguration configuration, string oldDomain, string newDomain)
    {
        var suffix = "@" + oldDomain;
        string Rewrite(string address) =>
            address.EndsWith(suffix, StringComparison.Ordinal) ? address[..^suffix.Length] + "@" + newDomain : address;
        return configuration with
        {
            Forwarders = configuration.Forwarders.Select(f => f with { Source = Rewrite(f.Source), Destination = f.IsPipe ? f.Destination : Rewrite(f.Destination) }).ToList(),
        };
    }

    /// <summary>
    /// Moves a domain's mail folder to its new name (one rename, before the database commits; <see cref="MoveMailBack"/>
    /// undoes it if the commit fails). Refused when the new name's folder holds anything.
    /// </summary>
    public void MoveMailToDomain(string oldDomain, string newDomain)
    {
        var from = Maildir.DomainFolder(MailRoot, oldDomain);
        var to = Maildir.DomainFolder(MailRoot, newDomain);
        if (Directory.Exists(to))
        {
            if (Directory.EnumerateFileSystemEntries(to).Any())
            {
                throw new PortalConflictException($"This node already keeps mail in a folder for {newDomain} ({to}); move or remove it first.", code: "account.domain_folder_exists");
            }

            Directory.Delete(to);
        }

        if (Directory.Exists(from))
        {
            Directory.Move(from, to);
        }
    }

    public void MoveMailBack(string oldDomain, string newDomain)
    {
        var from = Maildir.DomainFolder(MailRoot, oldDomain);
        var to = Maildir.DomainFolder(MailRoot, newDomain);
        if (Directory.Exists(to) && !Directory.Exists(from))
        {
            Directory.Move(to, from);
        }
    }

    /// <summary>
    /// After the servers were told the new domain: the mailboxes' homes follow, and a message delivered to the old
    /// folder in the moment between the rename and that (the servers still knew the old paths) joins its mailbox.
    /// Returns how many such messages were brought over.
    /// </summary>
    public int FinishDomainMove(string oldDomain, string newDomain)
    {
        publisher.RenameHomes(oldDomain, newDomain);
        var stray = Maildir.DomainFolder(MailRoot, oldDomain);
        if (!Directory.Exists(stray))
        {
            return 0;
        }

        var target = Maildir.DomainFolder(MailRoot, newDomain);
        var brought = 0;
        var touched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(stray, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(stray, file);
            var destination = Path.GetFullPath(Path.Combine(target, relative));
            if (!destination.StartsWith(target + Path.DirectorySeparatorChar, StringComparison.Ordinal) || File.Exists(destination) || new FileInfo(file).LinkTarget is not null)
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Move(file, destination);
            touched.Add(relative.Split(Path.DirectorySeparatorChar)[0]);
            brought++;
        }

        foreach (var mailbox in touched)
        {
            Maildir.QuotaChanged(Path.Combine(target, mailbox));
        }

        MailTrash.Discard(MailRoot, stray);
        return brought;
    }

    /// <summary>The account's addresses and forwarders with their hashes, to carry them to another node.</summary>
    public async Task<MailConfiguration> ExportConfigurationAsync(Account account, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var addresses = await db.EmailAccounts.AsNoTracking().Where(e => e.AccountId == account.Id).OrderBy(e => e.Address)
            .Select(e => new { e.LocalPart, e.PasswordHash, e.QuotaBytes, e.CreatedAt, e.SieveJson }).ToListAsync(ct);
        var forwarders = await db.Forwarders.AsNoTracking().Where(f => f.AccountId == account.Id).OrderBy(f => f.Id)
            .Select(f => new MailForwarderConfig(f.Source, f.Destination, f.IsPipe, f.Enabled)).ToListAsync(ct);
        return new MailConfiguration(
            addresses.Select(e => new MailAddressConfig(e.LocalPart, e.PasswordHash, e.QuotaBytes, e.CreatedAt, EmailAccount.ParseSieve(e.SieveJson))).ToList(), forwarders);
    }

    /// <summary>
    /// Takes over an account's addresses and forwarders from another node (idempotent: what is there is replaced).
    /// Pipes arrive disabled when the account's mail lives away from its web node. Another node's data is refused
    /// whole, before anything here changes, unless every item passes the rules a user's input does.
    /// </summary>
    public async Task ImportConfigurationAsync(Account account, MailConfiguration configuration, bool disablePipes, CancellationToken ct = default, string from = "another node")
    {
        MailRules.EnsureAcceptable(configuration, account.Domain, from);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.EmailAccounts.RemoveRange(db.EmailAccounts.Where(e => e.AccountId == account.Id));
        db.Forwarders.RemoveRange(db.Forwarders.Where(f => f.AccountId == account.Id));
        foreach (var a in configuration.Addresses)
        {
            db.EmailAccounts.Add(new EmailAccount
            {
                AccountId = account.Id,
                LocalPart = a.LocalPart,
                Domain = account.Domain,
                Address = $"{a.LocalPart}@{account.Domain}",
                PasswordHash = a.PasswordHash,
                QuotaBytes = a.QuotaBytes,
                CreatedAt = a.CreatedAt,
                PasswordChangedAt = a.CreatedAt,
                Sieve = a.Sieve,
            });
            Maildir.CreateMailbox(Maildir.MailboxPath(MailRoot, account.Domain, a.LocalPart));
        }

        foreach (var f in configuration.Forwarders)
        {
            db.Forwarders.Add(new Forwarder
            {
                AccountId = account.Id,
                Source = f.Source,
                Destination = f.Destination,
                IsPipe = f.IsPipe,
                Enabled = f.Enabled && !(f.IsPipe && disablePipes),
                CreatedAt = clock.GetUtcNow(),
            });
        }

        await db.SaveChangesAsync(ct);
        await publisher.RepublishAsync(ct);
    }

    /// <summary>Removes an account's mail configuration (its mail has moved elsewhere); the Maildirs are removed separately.</summary>
    public async Task ForgetConfigurationAsync(Account account, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.EmailAccounts.Where(e => e.AccountId == account.Id).ExecuteDeleteAsync(ct);
        await db.Forwarders.Where(f => f.AccountId == account.Id).ExecuteDeleteAsync(ct);
        await publisher.RepublishAsync(ct);
    }

    private static async Task<EmailAccount> FindAsync(PortalDbContext db, Account account, string address, CancellationToken ct) =>
        await db.EmailAccounts.SingleOrDefaultAsync(e => e.AccountId == account.Id && e.Address == address.ToLowerInvariant(), ct)
        ?? throw new PortalNotFoundException($"{address} is not an email account of {account.Username}.");
}
