using System.Text.RegularExpressions;

namespace Portal.Features.Packages;

/// <summary>
/// Packages (hosting plans): admins define them, admins and resellers make accounts from them. Changing a package
/// changes its accounts through <see cref="AccountService.ModifyAsync"/>, one account at a time, so an account whose
/// mail is on a child has its twin updated there as any other change would. The change is refused as a whole when any
/// of its accounts would be (see <see cref="PreviewAsync(Actor, string, PackageSpec, CancellationToken)"/>): a
/// package's accounts stay alike. Every refusal is audited.
/// </summary>
public sealed partial class PackageService(IDbContextFactory<PortalDbContext> dbFactory, AccountService accounts, AccountQueries queries, AuditLog audit, TimeProvider clock)
{
    public const int MaxNameLength = 64;

    public const int MaxMailboxesLimit = 100_000;

    [GeneratedRegex(@"^[\p{L}\p{N}][\p{L}\p{N} ._-]*$")]
    private static partial Regex NamePattern();

    /// <summary>Every package, for admins (to manage) and resellers (to make accounts from).</summary>
    public async Task<IReadOnlyList<PackageRow>> ListAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        RequireManager(actor);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var packages = await db.Packages.AsNoTracking().OrderBy(p => p.Name).ToListAsync(cancellationToken);
        var counts = await db.Accounts.Where(a => a.PackageId != null).GroupBy(a => a.PackageId!.Value)
            .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, cancellationToken);
        var aliases = await db.LinkedNodes.AsNoTracking().ToDictionaryAsync(n => n.Id, n => n.Alias, cancellationToken);
        return packages.Select(p => RowOf(p, counts.GetValueOrDefault(p.Id), aliases)).ToArray();
    }

    public async Task<PackageRow> GetAsync(Actor actor, string name, CancellationToken cancellationToken = default)
    {
        RequireManager(actor);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var package = await FindAsync(db, name, cancellationToken) ?? throw NotFound(name);
        return await RowAsync(db, package, cancellationToken);
    }

    public async Task<PackageRow> CreateAsync(Actor actor, PackageSpec spec, CancellationToken cancellationToken = default)
    {
        var name = spec.Name?.Trim() ?? "";
        await RequireAdminAsync(actor, "package.create", name, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var problems = await ProblemsAsync(db, spec, null, cancellationToken);
        if (problems.Count > 0)
        {
            var message = $"Package {name} was not created: " + string.Join(" ", problems);
            await audit.RecordAsync(actor, "package.create", name, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalValidationException(message, problems, "package.invalid");
        }

        var package = new Package { Name = name, CreatedAt = clock.GetUtcNow(), UpdatedAt = clock.GetUtcNow() };
        Set(package, spec);
        db.Packages.Add(package);
        await SaveNameAsync(db, actor, "package.create", name, name, "created", cancellationToken);

        await audit.RecordAsync(actor, "package.create", name, AuditOutcome.Succeeded, Describe(package), cancellationToken);
        return await RowAsync(db, package, cancellationToken);
    }

    /// <summary>
    /// What changing package <paramref name="name"/> to <paramref name="spec"/> would do to each of its accounts, and
    /// which of them would refuse it. Nothing is changed.
    /// </summary>
    public async Task<PackagePreview> PreviewAsync(Actor actor, string name, PackageSpec spec, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins change packages.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var package = await FindAsync(db, name, cancellationToken) ?? throw NotFound(name);
        var problems = await ProblemsAsync(db, spec, package.Id, cancellationToken);
        if (problems.Count > 0)
        {
            throw new PortalValidationException($"Package {package.Name} cannot be changed so: " + string.Join(" ", problems), problems, "package.invalid");
        }

        return await PreviewAsync(db, package, spec, cancellationToken);
    }

    /// <summary>
    /// Changes a package and then each of its accounts that differs from it (through <see cref="AccountService.ModifyAsync"/>).
    /// Refused as a whole when the preview refuses any account. An account whose mail node does not answer keeps its
    /// old values and is reported; changing the package again to the same values applies it to those that differ.
    /// </summary>
    public async Task<PackageUpdate> UpdateAsync(Actor actor, string name, PackageSpec spec, CancellationToken cancellationToken = default)
    {
        await RequireAdminAsync(actor, "package.update", name, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var package = await FindAsync(db, name, cancellationToken);
        if (package is null)
        {
            await audit.RecordAsync(actor, "package.update", name, AuditOutcome.Refused, "No such package.", cancellationToken);
            throw NotFound(name);
        }

        var problems = await ProblemsAsync(db, spec, package.Id, cancellationToken);
        if (problems.Count > 0)
        {
            var message = $"Package {package.Name} was not changed: " + string.Join(" ", problems);
            await audit.RecordAsync(actor, "package.update", package.Name, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalValidationException(message, problems, "package.invalid");
        }

        var preview = await PreviewAsync(db, package, spec, cancellationToken);
        if (!preview.CanApply)
        {
            var refused = preview.Accounts.Where(a => a.Refused).Select(a => $"{a.Username}: {string.Join(" ", a.Problems)}").ToList();
            var message = $"Package {package.Name} was not changed: {refused.Count} of its accounts would refuse it. " + string.Join(" ", refused)
                + " Change those accounts (or put them on another package) first, or choose other values.";
            await audit.RecordAsync(actor, "package.update", package.Name, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalConflictException(message, refused, "package.accounts_refused");
        }

        var before = Describe(package);
        package.Name = spec.Name.Trim();
        Set(package, spec);
        package.UpdatedAt = clock.GetUtcNow();
        await SaveNameAsync(db, actor, "package.update", name, package.Name, "changed", cancellationToken);

        // Limits that shrink go first, so a reseller's disk limit (checked per account) is never passed on the way.
        var outcomes = new List<PackageAccountOutcome>();
        foreach (var change in preview.Accounts.Where(a => a.AccountChanges).OrderBy(a => Grows(a.QuotaFrom, a.QuotaTo)).ThenBy(a => a.Username, StringComparer.Ordinal))
        {
            outcomes.Add(await ApplyAsync(actor, change.Username, package, cancellationToken));
        }

        var failed = outcomes.Where(o => o.Problem is not null).ToList();
        await audit.RecordAsync(actor, "package.update", package.Name, failed.Count == 0 ? AuditOutcome.Succeeded : AuditOutcome.Failed,
            $"Was: {before}. Now: {Describe(package)}. {outcomes.Count - failed.Count} account(s) changed"
            + (failed.Count == 0 ? "." : $"; not changed: {string.Join(", ", failed.Select(f => f.Username))} (changing the package again with the same values applies it to them)."),
            cancellationToken);
        return new PackageUpdate(await RowAsync(db, package, cancellationToken),
            [.. outcomes, .. preview.Accounts.Where(a => !a.AccountChanges).Select(a => new PackageAccountOutcome(a.Username, false, null))]);
    }

    public async Task DeleteAsync(Actor actor, string name, CancellationToken cancellationToken = default)
    {
        await RequireAdminAsync(actor, "package.delete", name, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var package = await FindAsync(db, name, cancellationToken);
        if (package is null)
        {
            await audit.RecordAsync(actor, "package.delete", name, AuditOutcome.Refused, "No such package.", cancellationToken);
            throw NotFound(name);
        }

        var users = await db.Accounts.Where(a => a.PackageId == package.Id).OrderBy(a => a.Username).Select(a => a.Username).ToListAsync(cancellationToken);
        if (users.Count == 0)
        {
            db.Packages.Remove(package);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                await audit.RecordAsync(actor, "package.delete", package.Name, AuditOutcome.Succeeded, Describe(package), cancellationToken);
                return;
            }
            catch (DbUpdateException ex) when (ex.IsForeignKeyViolation())
            {
                // An account was put on it meanwhile; the foreign key keeps the package.
                users = await db.Accounts.Where(a => a.PackageId == package.Id).OrderBy(a => a.Username).Select(a => a.Username).ToListAsync(cancellationToken);
            }
        }

        var message = $"Package {package.Name} is used by {users.Count} account(s) ({string.Join(", ", users.Take(5))}{(users.Count > 5 ? ", …" : "")}); "
            + "put them on another package, or on none (the account's page, Package), then delete it.";
        await audit.RecordAsync(actor, "package.delete", package.Name, AuditOutcome.Refused, message, cancellationToken);
        throw new PortalConflictException(message, code: "package.in_use");
    }

    /// <summary>
    /// Puts an account on a package (its features, IPv6 and mail limit become the package's, through
    /// <see cref="AccountService.ModifyAsync"/>), or on none (null: it keeps its values). Admins, and resellers for their own.
    /// </summary>
    public async Task<AccountRow> SetAccountPackageAsync(Actor actor, string username, string? packageName, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        Account account;
        try
        {
            RequireManager(actor);
            account = await AccountAccess.FindVisibleAsync(db, actor, username, cancellationToken);
        }
        catch (Exception ex) when (ex is PortalForbiddenException or PortalNotFoundException)
        {
            await audit.RecordAsync(actor, "account.package", username, AuditOutcome.Refused, ex.Message, cancellationToken);
            throw;
        }

        if (account.IsTwin)
        {
            var message = $"Account {username} is distributed from this node's parent; its package is set on the parent.";
            await audit.RecordAsync(actor, "account.package", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalConflictException(message, code: "account.twin");
        }

        if (packageName is not { Length: > 0 })
        {
            await db.Accounts.Where(a => a.Id == account.Id).ExecuteUpdateAsync(u => u.SetProperty(a => a.PackageId, (long?)null), cancellationToken);
            await audit.RecordAsync(actor, "account.package", username, AuditOutcome.Succeeded, "No package; the account keeps its features and limits.", cancellationToken);
            return await queries.GetAsync(actor, username, cancellationToken);
        }

        var package = await FindAsync(db, packageName, cancellationToken);
        if (package is null)
        {
            await audit.RecordAsync(actor, "account.package", username, AuditOutcome.Refused, $"No package {packageName}.", cancellationToken);
            throw NotFound(packageName);
        }

        var change = (await ChangesAsync(db, [account], SpecOf(package), cancellationToken)).Single();
        if (change.Refused)
        {
            var message = $"Account {username} was not put on package {package.Name}: " + string.Join(" ", change.Problems);
            await audit.RecordAsync(actor, "account.package", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalValidationException(message, change.Problems, "package.account_refused");
        }

        if (change.AccountChanges)
        {
            // Refusals and failures here are audited by ModifyAsync and leave the account on its old package.
            await accounts.ModifyAsync(actor, username, ChangeOf(package), cancellationToken);
        }

        await db.Accounts.Where(a => a.Id == account.Id).ExecuteUpdateAsync(u => u.SetProperty(a => a.PackageId, package.Id), cancellationToken);
        await audit.RecordAsync(actor, "account.package", username, AuditOutcome.Succeeded, $"Package {package.Name}: {Describe(package)}.", cancellationToken);
        return await queries.GetAsync(actor, username, cancellationToken);
    }

    internal static async Task<Package?> FindAsync(PortalDbContext db, string name, CancellationToken ct)
    {
        var lower = name.Trim().ToLowerInvariant();
        return await db.Packages.SingleOrDefaultAsync(p => EF.Property<string>(p, "LowerName") == lower, ct);
    }

    public static string FeaturesText(IEnumerable<string> features) =>
        features.Any() ? string.Join(", ", AccountFeatures.All.Where(features.Contains).Select(AccountFeatures.Describe)) : "none";

    public static string QuotaText(int? megabytes) => megabytes is { } mb ? $"{mb} MiB" : "none";

    private async Task<PackageAccountOutcome> ApplyAsync(Actor actor, string username, Package package, CancellationToken ct)
    {
        try
        {
            await accounts.ModifyAsync(actor, username, ChangeOf(package), ct);
            return new PackageAccountOutcome(username, true, null);
        }
        catch (PortalException ex) when (ex.IsRefusal)
        {
            // ModifyAsync audited it; the account keeps its old values until the package is applied again.
            return new PackageAccountOutcome(username, false, ex.Message);
        }
    }

    private static AccountChange ChangeOf(Package package) =>
        new(Features: package.Features, Ipv6Enabled: package.Ipv6Enabled, MailQuotaMegabytes: package.MailQuotaMegabytes ?? 0);

    private static PackageSpec SpecOf(Package p) => new(p.Name, p.Features, p.Ipv6Enabled, p.MailQuotaMegabytes, p.MaxMailboxes, p.Routing);

    private static async Task<PackagePreview> PreviewAsync(PortalDbContext db, Package package, PackageSpec spec, CancellationToken ct)
    {
        var members = await db.Accounts.AsNoTracking().Where(a => a.PackageId == package.Id).OrderBy(a => a.Username).ToListAsync(ct);
        var changes = await ChangesAsync(db, members, spec, ct);
        var notes = new List<string>();
        var routing = spec.MailRouting ?? MailRouting.Local;
        if (routing != package.Routing)
        {
            notes.Add("The new mail routing applies to accounts created from the package from now on; existing accounts keep their mail where it is "
                + "(moving mail is a move: Accounts, Move mail).");
        }

        if (spec.MaxMailboxes != package.MaxMailboxes)
        {
            notes.Add($"The mailbox limit ({(spec.MaxMailboxes?.ToString() ?? "none")}) applies to every account on the package as soon as it is saved; existing mailboxes are kept.");
        }

        var proposed = new Package
        {
            Name = spec.Name.Trim(),
            CreatedAt = package.CreatedAt,
            UpdatedAt = package.UpdatedAt,
        };
        Set(proposed, spec);
        var aliases = await db.LinkedNodes.AsNoTracking().ToDictionaryAsync(n => n.Id, n => n.Alias, ct);
        return new PackagePreview(package.Name, RowOf(proposed, members.Count, aliases), changes, notes);
    }

    /// <summary>
    /// What taking <paramref name="spec"/> does to each account, with what would refuse it: what ModifyAsync would
    /// refuse (a child's rules), mail it already holds above the new limit, more mailboxes than the new limit, and a
    /// reseller's disk limit (counted with all the reseller's accounts as they would be afterwards).
    /// </summary>
    private static async Task<IReadOnlyList<PackageAccountChange>> ChangesAsync(PortalDbContext db, IReadOnlyList<Account> members, PackageSpec spec, CancellationToken ct)
    {
        var ids = members.Select(a => a.Id).ToList();
        var localCounts = await db.EmailAccounts.Where(e => ids.Contains(e.AccountId)).GroupBy(e => e.AccountId)
            .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);
        var packages = await db.Packages.AsNoTracking().ToDictionaryAsync(p => p.Id, ct);
        var features = (spec.Features ?? AccountFeatures.All).Distinct().ToList();
        int? quotaTo = spec.MailQuotaMegabytes > 0 ? spec.MailQuotaMegabytes : null;
        var overDisk = await OverResellerDiskAsync(db, members, quotaTo, ct);

        return members.Select(a =>
        {
            var problems = new List<string>();
            if (a.MailNodeId is not null)
            {
                var rules = new List<string>();
                rules.AddRange(MailOnAChild.Problems(spec.Ipv6Enabled, features));
                problems.AddRange(rules.Select(r => $"Its mail is on {a.MailNodeAlias}: {r}"));
            }

            if (quotaTo is { } limit && a.DiskUsageBytes > limit * 1024L * 1024)
            {
                problems.Add($"It holds {Units.Bytes(a.DiskUsageBytes)} of mail, more than the new mail limit of {limit} MiB.");
            }

            var mailboxes = a.MailNodeId is null ? localCounts.GetValueOrDefault(a.Id) : SnapshotCount(a.MailSettingsSnapshot);
            if (spec.MaxMailboxes is { } most && mailboxes > most)
            {
                problems.Add($"It has {mailboxes} mailboxes, more than the new limit of {most}.");
            }

            if (a.ResellerId is not null && overDisk.TryGetValue(a.ResellerId, out var resellerProblem) && Grows(a.MailQuotaMegabytes, quotaTo))
            {
                problems.Add(resellerProblem);
            }

            var from = a.PackageId is { } id && packages.TryGetValue(id, out var current) ? current.MaxMailboxes : null;
            return new PackageAccountChange(a.Username, a.OwnerName, a.MailNodeAlias,
                features.Except(a.Features).ToList(), a.Features.Except(features).ToList(),
                a.Ipv6Enabled, spec.Ipv6Enabled, a.MailQuotaMegabytes, quotaTo, from, spec.MaxMailboxes, mailboxes, a.DiskUsageBytes, problems);
        }).ToList();
    }

    /// <summary>For each reseller whose disk limit the change would pass: why, in words.</summary>
    private static async Task<Dictionary<string, string>> OverResellerDiskAsync(PortalDbContext db, IReadOnlyList<Account> members, int? quotaTo, CancellationToken ct)
    {
        var resellers = members.Where(a => a.ResellerId is not null && Grows(a.MailQuotaMegabytes, quotaTo)).Select(a => a.ResellerId!).Distinct().ToList();
        var limits = await db.ResellerSettings.AsNoTracking().Where(s => resellers.Contains(s.UserId) && s.MaxDiskMegabytes != null)
            .ToDictionaryAsync(s => s.UserId, s => s.MaxDiskMegabytes!.Value, ct);
        var memberIds = members.Select(a => a.Id).ToHashSet();
        var result = new Dictionary<string, string>();
        foreach (var (resellerId, disk) in limits)
        {
            var theirs = await db.Accounts.AsNoTracking().Where(a => a.ResellerId == resellerId).Select(a => new { a.Id, a.MailQuotaMegabytes, a.OwnerName }).ToListAsync(ct);
            var after = theirs.Select(a => memberIds.Contains(a.Id) ? quotaTo : a.MailQuotaMegabytes).ToList();
            var owner = theirs[0].OwnerName;
            if (after.Any(q => q is null))
            {
                result[resellerId] = $"Its reseller {owner} may hand out {disk} MiB of disk in all, so each of its accounts needs a mail limit.";
            }
            else if (after.Sum(q => (long)q!.Value) is var total && total > disk)
            {
                result[resellerId] = $"Its reseller {owner} may hand out {disk} MiB of disk in all; its accounts would be given {total} MiB.";
            }
        }

        return result;
    }

    /// <summary>Whether a mail limit grows (none is the largest).</summary>
    private static bool Grows(int? from, int? to) => to is null ? from is not null : to > from;

    /// <summary>The mailboxes of an account whose mail is on a child, as the parent last knew them; null when not known.</summary>
    private static int? SnapshotCount(string? snapshot)
    {
        if (snapshot is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<MailConfiguration>(snapshot)?.Addresses.Count;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<List<string>> ProblemsAsync(PortalDbContext db, PackageSpec spec, long? id, CancellationToken ct)
    {
        var problems = new List<string>();
        var name = spec.Name?.Trim() ?? "";
        if (name.Length is 0 or > MaxNameLength || !NamePattern().IsMatch(name))
        {
            problems.Add($"A package's name is 1-{MaxNameLength} letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit.");
        }
        else if (await FindAsync(db, name, ct) is { } other && other.Id != id)
        {
            problems.Add($"A package named {other.Name} exists; choose another name.");
        }

        var features = (spec.Features ?? AccountFeatures.All).Distinct().ToList();
        if (features.Except(AccountFeatures.All).ToList() is { Count: > 0 } unknown)
        {
            problems.Add($"Unknown features: {string.Join(", ", unknown)}. Known: {string.Join(", ", AccountFeatures.All)}.");
        }

        if (spec.MailQuotaMegabytes is < 0 or > MailService.MaxQuotaMegabytes)
        {
            problems.Add($"The mail limit must be between 0 (none) and {MailService.MaxQuotaMegabytes} MiB.");
        }

        if (spec.MaxMailboxes is < 1 or > MaxMailboxesLimit)
        {
            problems.Add($"The most mailboxes must be between 1 and {MaxMailboxesLimit}, or empty for no limit (turn \"Email accounts\" off for none).");
        }

        var routing = spec.MailRouting ?? MailRouting.Local;
        if (routing.Kind != MailRoutingKind.Local)
        {
            // The rule of an account whose mail lives on a child, said once (AccountService), for the accounts to come.
            var rules = new List<string>();
            rules.AddRange(MailOnAChild.Problems(spec.Ipv6Enabled, features));
            problems.AddRange(rules.Select(r => "The package's accounts start with their mail on a child node. " + r.Replace("keep its mail local", "route the package's mail locally", StringComparison.Ordinal)));
        }

        if (routing.Kind == MailRoutingKind.Node)
        {
            var choice = routing.NodeId is { } nodeId ? (await MailNodes.ChoicesAsync(db, ct)).SingleOrDefault(c => c.Id == nodeId) : null;
            if (choice is not { ServesMail: true })
            {
                problems.Add(choice is null ? "That mail node is not linked to this one; choose a linked mail node, Automatic or Local." : $"Node {choice.Alias} does not serve mail; choose a mail node, Automatic or Local.");
            }
        }

        return problems;
    }

    private static void Set(Package package, PackageSpec spec)
    {
        var routing = spec.MailRouting ?? MailRouting.Local;
        package.Features = (spec.Features ?? AccountFeatures.All).Distinct().OrderBy(f => f, StringComparer.Ordinal).ToList();
        package.Ipv6Enabled = spec.Ipv6Enabled;
        package.MailQuotaMegabytes = spec.MailQuotaMegabytes > 0 ? spec.MailQuotaMegabytes : null;
        package.MaxMailboxes = spec.MaxMailboxes;
        package.MailRouting = routing.Kind;
        package.MailNodeId = routing.Kind == MailRoutingKind.Node ? routing.NodeId : null;
    }

    private static string Describe(Package p) =>
        $"features {FeaturesText(p.Features)}; IPv6 {(p.Ipv6Enabled ? "on" : "off")}; mail limit {QuotaText(p.MailQuotaMegabytes)}; "
        + $"mailboxes {(p.MaxMailboxes?.ToString() ?? "no limit")}; mail {p.MailRouting}{(p.MailNodeId is { } id ? $" ({id})" : "")}";

    private static async Task<PackageRow> RowAsync(PortalDbContext db, Package package, CancellationToken ct)
    {
        var count = await db.Accounts.CountAsync(a => a.PackageId == package.Id, ct);
        var aliases = await db.LinkedNodes.AsNoTracking().ToDictionaryAsync(n => n.Id, n => n.Alias, ct);
        return RowOf(package, count, aliases);
    }

    private static PackageRow RowOf(Package p, int accountCount, IReadOnlyDictionary<Guid, string> aliases) =>
        new(p.Name, p.Features.ToArray(), p.Ipv6Enabled, p.MailQuotaMegabytes, p.MaxMailboxes, p.Routing,
            p.MailNodeId is { } id ? aliases.GetValueOrDefault(id) : null, accountCount, p.CreatedAt, p.UpdatedAt);

    private static void RequireManager(Actor actor)
    {
        if (!actor.ManagesAccounts)
        {
            throw new PortalForbiddenException("Only admins and resellers see packages.");
        }
    }

    private async Task RequireAdminAsync(Actor actor, string action, string target, CancellationToken ct)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, action, target, AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins create, change and delete packages.");
        }
    }

    private static PortalNotFoundException NotFound(string name) => new($"There is no package \"{name.Trim()}\" on this node.");

    /// <summary>
    /// Saves a package's new name (and the rest); a name another admin took between the check and the save is refused,
    /// as the unique index says, like the check would have.
    /// </summary>
    private async Task SaveNameAsync(PortalDbContext db, Actor actor, string action, string name, string newName, string notDone, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            var message = $"Package {name} was not {notDone}: a package named {newName} exists; choose another name.";
            await audit.RecordAsync(actor, action, name, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalConflictException(message, code: "package.taken");
        }
    }
}
