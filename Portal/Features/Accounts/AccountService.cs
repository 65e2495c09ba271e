using System.ComponentModel.DataAnnotations;

namespace Portal.Features.Accounts;

/// <summary>
/// Creates and changes hosting accounts, for admins (any account) and resellers (their own). An account whose mail
/// lives on a child is created on both nodes as one operation: if the child's part fails, nothing is left on either.
/// Every rule is checked here and every refusal audited.
/// </summary>
public sealed class AccountService(
    IServiceScopeFactory scopes,
    IDbContextFactory<PortalDbContext> dbFactory,
    NodeLinkService links,
    INodeApiClientFactory clients,
    DnsZoneService zones,
    DnsPublisher dns,
    IOptions<PortalSettings> settings,
    AuditLog audit,
    AccountOrderCache orders,
    MailStatePublisher mailState,
    ApiTokenService tokens,
    DomainRules domainRules,
    TimeProvider clock,
    ILogger<AccountService> logger)
{
    public async Task<CreatedAccount> CreateAsync(Actor actor, NewAccount request, CancellationToken cancellationToken = default)
    {
        var username = request.Username?.Trim() ?? "";
        var isReseller = actor.IsInRole(PortalRoles.Reseller) && !actor.IsAdmin;
        if (!actor.IsAdmin && !isReseller)
        {
            await audit.RecordAsync(actor, "account.create", username, AuditOutcome.Refused, "Not an admin or a reseller.", cancellationToken);
            throw new PortalForbiddenException("Only admins and resellers create accounts.");
        }

        try
        {
            var created = await CreateCheckedAsync(actor, isReseller, request with { Username = username }, cancellationToken);
            await audit.RecordAsync(actor, "account.create", username, AuditOutcome.Succeeded,
                $"Domain {created.Account.Domain}, owner {created.Account.OwnerName}, mail {created.Account.MailLocation}{(created.Account.Package is { } package ? $", package {package}" : "")}.", cancellationToken);
            return created;
        }
        catch (Exception ex) when (ex is PortalValidationException or PortalConflictException)
        {
            await audit.RecordAsync(actor, "account.create", username, AuditOutcome.Refused, (ex as PortalValidationException)?.AuditText ?? ex.Message, cancellationToken);
            throw;
        }
    }

    private async Task<CreatedAccount> CreateCheckedAsync(Actor actor, bool isReseller, NewAccount request, CancellationToken ct)
    {
        var problems = new List<string>();
        if (!AccountNames.IsValid(request.Username))
        {
            problems.Add($"The user name must be {AccountNames.Rule}.");
        }

        if (!DomainNames.TryNormalize(request.Domain, out var domain, out var domainProblem))
        {
            problems.Add(domainProblem!);
        }

        var email = request.ContactEmail?.Trim() ?? "";
        if (!new EmailAddressAttribute().IsValid(email) || email.Length == 0)
        {
            problems.Add("Give a contact email address where the account's owner can be reached, like owner@example.com.");
        }

        var features = (request.Features ?? AccountFeatures.All).Distinct().ToList();
        var unknown = features.Except(AccountFeatures.All).ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"Unknown features: {string.Join(", ", unknown)}. Known: {string.Join(", ", AccountFeatures.All)}.");
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();

        // Owner and mail routing: a reseller's accounts are its own and start where the reseller's mail routing says.
        string? resellerId = null;
        var ownerName = "root";
        var routing = request.MailRouting ?? MailRouting.Local;
        if (isReseller)
        {
            resellerId = actor.UserId;
            ownerName = actor.Name;
            var inherited = await ResellerRoutingAsync(db, actor.UserId!, ct);
            if (request.MailRouting is { } asked && asked != inherited)
            {
                problems.Add("Accounts you create keep their mail where your own mail routing says; an admin changes that.");
            }

            routing = inherited;
            if (request.Owner is { Length: > 0 } owner && owner != actor.Name)
            {
                problems.Add("A reseller creates accounts for itself only.");
            }
        }
        else if (request.Owner is { Length: > 0 } owner && owner != "root")
        {
            var reseller = await users.FindByNameAsync(owner);
            if (reseller is null || !await users.IsInRoleAsync(reseller, PortalRoles.Reseller))
            {
                problems.Add($"\"{owner}\" is not a reseller on this node; give a reseller's user name, or root.");
            }
            else
            {
                resellerId = reseller.Id;
                ownerName = reseller.UserName!;
                if (request.MailRouting is null)
                {
                    routing = await ResellerRoutingAsync(db, reseller.Id, ct);
                }
            }
        }

        var ipv6 = request.Ipv6Enabled ?? false;
        int? quota = request.MailQuotaMegabytes > 0 ? request.MailQuotaMegabytes : null;
        if (request.MailQuotaMegabytes is < 0 or > MailService.MaxQuotaMegabytes)
        {
            problems.Add($"The account's mail limit must be between 0 (none) and {MailService.MaxQuotaMegabytes} MiB.");
        }

        var package = await FromPackageAsync(db, request, resellerId is null, problems, ct);
        if (package is not null)
        {
            (features, ipv6, quota) = (package.Features.ToList(), package.Ipv6Enabled, package.MailQuotaMegabytes);
            // A reseller's account starts where the reseller's routing says, as without a package: an admin set that
            // routing for this reseller, and a package shared by many resellers must not move their mail elsewhere.
            if (resellerId is null)
            {
                routing = package.Routing;
            }
        }

        if (problems.Count > 0)
        {
            throw new PortalValidationException("The account was not created: " + string.Join(" ", problems), problems, "account.invalid");
        }

        if (resellerId is not null && await ResellerLimits.ProblemAsync(db, resellerId, ownerName, null, newAccount: true, quota, ct) is { } overLimit)
        {
            throw new PortalValidationException("The account was not created: " + overLimit, [overLimit], "reseller.limit");
        }

        var mailNode = await MailNodes.ResolveAsync(db, routing, ct);
        if (mailNode is not null)
        {
            problems.AddRange(MailOnAChild.Problems(ipv6, features));
            if (mailNode.PublicIPv4 is null)
            {
                problems.Add($"Node {mailNode.Alias} has not told this node its public address yet; check it under Link Server Nodes and try again.");
            }

            if (problems.Count > 0)
            {
                throw new PortalValidationException("The account was not created: " + string.Join(" ", problems), problems, "account.not_distributable");
            }
        }

        // Unique across the linked set: here, then on every child that answers.
        if (await users.FindByNameAsync(request.Username) is not null || await db.Accounts.AnyAsync(a => a.Username == request.Username, ct))
        {
            problems.Add($"The user name \"{request.Username}\" is taken on this node; choose another.");
        }

        if (await db.Accounts.AnyAsync(a => a.Domain == domain, ct))
        {
            problems.Add($"The domain {DomainNames.ToUnicode(domain)} already belongs to an account on this node.");
        }
        else if (await domainRules.ProblemsAsync(domain, ownerName, ct) is { Count: > 0 } refused)
        {
            throw new PortalValidationException("The account was not created: " + string.Join(" ", refused), refused, "account.domain_refused");
        }

        var warnings = new List<string>();
        if (problems.Count == 0)
        {
            await CheckChildrenAsync(request.Username, domain, problems, warnings, ct);
        }

        if (problems.Count > 0)
        {
            throw new PortalConflictException("The account was not created: " + string.Join(" ", problems), problems, "account.taken");
        }

        var generated = string.IsNullOrEmpty(request.Password) ? UserAdminService.GeneratePassword() : null;
        var password = generated ?? request.Password!;
        var (weak, forAudit) = await users.PasswordProblemsAsync(request.Username, email, password);
        if (weak.Count > 0)
        {
            throw new PortalValidationException("The account was not created: " + string.Join(" ", weak), weak, "account.invalid")
            {
                AuditText = "The account was not created: " + string.Join(" ", forAudit),
            };
        }

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (resellerId is not null)
        {
            // Checked again under the reseller's lock: another account may have been created since the check above.
            await ResellerLimits.LockAsync(db, resellerId, ct);
            if (await ResellerLimits.ProblemAsync(db, resellerId, ownerName, null, newAccount: true, quota, ct) is { } nowOverLimit)
            {
                throw new PortalValidationException("The account was not created: " + nowOverLimit, [nowOverLimit], "reseller.limit");
            }
        }

        var user = new PortalUser { UserName = request.Username, Email = email, CreatedAt = clock.GetUtcNow(), PasswordChangedAt = clock.GetUtcNow(), LockoutEnabled = true };
        Require(await users.CreateWithJudgedPasswordAsync(user, password));
        Require(await users.AddToRoleAsync(user, PortalRoles.User));
        var account = new Account
        {
            Username = request.Username,
            Domain = domain,
            ContactEmail = email,
            UserId = user.Id,
            ResellerId = resellerId,
            OwnerName = ownerName,
            Features = features,
            Ipv6Enabled = ipv6,
            MailQuotaMegabytes = quota,
            PackageId = package?.Id,
            Status = AccountStatus.Active,
            MailNodeId = mailNode?.Id,
            MailNodeAlias = mailNode?.Alias,
            CreatedAt = clock.GetUtcNow(),
        };
        db.Accounts.Add(account);
        await db.SaveChangesAsync(ct);
        zones.AddZone(db, account, mailNode?.PublicIPv4 ?? settings.Value.Dns.PublicIPv4);
        await db.SaveChangesAsync(ct);

        if (mailNode is not null)
        {
            var child = clients.Create(links.EndpointOf(mailNode));
            try
            {
                await child.CreateAccountTwinAsync(AccountTwins.TwinOf(account), ct);
            }
            catch (NodeApiException ex)
            {
                await transaction.RollbackAsync(CancellationToken.None);
                // The child may have made the twin before the answer was lost; take it away again.
                await TryDeleteTwinAsync(child, account.Username);
                throw new PortalValidationException(
                    $"The account was not created: its twin could not be created on {mailNode.Alias} ({ex.Message}). Nothing was kept on either node; try again, or choose another mail node.",
                    code: "account.child_failed");
            }

            try
            {
                await transaction.CommitAsync(ct);
            }
            catch
            {
                await TryDeleteTwinAsync(child, account.Username);
                throw;
            }
        }
        else
        {
            await transaction.CommitAsync(ct);
        }

        orders.Invalidate();
        await mailState.RepublishAsync(ct);
        try
        {
            await dns.PublishAsync(account.Id, ct);
        }
        catch (Exception ex) when ((ex is InvalidOperationException or HttpRequestException or TaskCanceledException) && !ct.IsCancellationRequested)
        {
            // The account is made; its zone is published by the minute's job once the DNS server answers.
            logger.LogWarning(ex, "The zone of {Account} could not be published yet", account.Username);
            warnings.Add($"The DNS server did not take the zone of {account.Domain} yet ({ex.Message}); Portal publishes it again every minute.");
        }

        return new CreatedAccount(AccountRow.From(account) with { Package = package?.Name }, generated, warnings);
    }

    /// <summary>
    /// The package a new account is made from, or null. A value given beside the package must be the package's: a
    /// different one is refused rather than silently replaced, so a caller never gets other than what it asked for.
    /// </summary>
    private static async Task<Package?> FromPackageAsync(PortalDbContext db, NewAccount request, bool rootAccount, List<string> problems, CancellationToken ct)
    {
        if (request.Package is not { Length: > 0 } name)
        {
            return null;
        }

        var package = await PackageService.FindAsync(db, name, ct);
        if (package is null)
        {
            problems.Add($"There is no package \"{name.Trim()}\"; choose one listed under Packages, or create the account without one.");
            return null;
        }

        var conflicts = new List<string>();
        if (request.Features is { } features && !features.ToHashSet().SetEquals(package.Features))
        {
            conflicts.Add($"features ({PackageService.FeaturesText(package.Features)})");
        }

        if (request.Ipv6Enabled is { } ipv6 && ipv6 != package.Ipv6Enabled)
        {
            conflicts.Add($"IPv6 ({(package.Ipv6Enabled ? "on" : "off")})");
        }

        if (request.MailQuotaMegabytes is { } quota && (quota > 0 ? quota : (int?)null) != package.MailQuotaMegabytes)
        {
            conflicts.Add($"mail limit ({PackageService.QuotaText(package.MailQuotaMegabytes)})");
        }

        if (rootAccount && request.MailRouting is { } routing && routing != package.Routing)
        {
            conflicts.Add($"mail routing ({package.MailRouting})");
        }

        if (conflicts.Count > 0)
        {
            problems.Add($"Package {package.Name} gives the account its {string.Join(", ", conflicts)}; leave those out to take the package's, or create the account without a package.");
        }

        return package;
    }

    /// <summary>Changes an account's contact, features, IPv6 and status; a distributed account's twin changes first.</summary>
    public async Task<AccountRow> ModifyAsync(Actor actor, string username, AccountChange change, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        Account account;
        try
        {
            account = await AccountAccess.FindVisibleAsync(db, actor, username, cancellationToken);
            if (actor.IsAccountOwner)
            {
                throw new PortalForbiddenException("Account owners cannot change these settings; ask your provider.");
            }
        }
        catch (Exception ex) when (ex is PortalNotFoundException or PortalForbiddenException)
        {
            await audit.RecordAsync(actor, "account.modify", username, AuditOutcome.Refused, ex.Message, cancellationToken);
            throw;
        }

        var problems = new List<string>();
        if (account.IsTwin)
        {
            var refused = AccountAccess.ChangedOnTheParent(username);
            await audit.RecordAsync(actor, "account.modify", username, AuditOutcome.Refused, refused.Message, cancellationToken);
            throw refused;
        }

        if (change.ContactEmail is { } email && !new EmailAddressAttribute().IsValid(email))
        {
            problems.Add($"\"{email}\" is not an email address.");
        }

        var features = change.Features?.Distinct().ToList() ?? account.Features;
        if (features.Except(AccountFeatures.All).Any())
        {
            problems.Add($"Unknown features: {string.Join(", ", features.Except(AccountFeatures.All))}.");
        }

        var ipv6 = change.Ipv6Enabled ?? account.Ipv6Enabled;
        if (account.MailNodeId is not null)
        {
            problems.AddRange(MailOnAChild.Problems(ipv6, features));
        }

        if (change.MailQuotaMegabytes is < 0 or > MailService.MaxQuotaMegabytes)
        {
            problems.Add($"The account's mail limit must be between 0 (none) and {MailService.MaxQuotaMegabytes} MiB.");
        }

        var status = change.Status ?? account.Status;
        var reason = AccountSuspension.Reason(change.SuspensionReason, problems);
        if (problems.Count > 0)
        {
            var message = $"Account {username} was not changed: " + string.Join(" ", problems);
            await audit.RecordAsync(actor, "account.modify", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalValidationException(message, problems, "account.invalid");
        }

        // A reseller's disk limit counts its accounts' mail limits: one that grows (or goes) must fit. One that shrinks
        // always may, so a reseller over its limit can get back under it.
        int? newQuota = change.MailQuotaMegabytes > 0 ? change.MailQuotaMegabytes : null;
        var quotaGrows = change.MailQuotaMegabytes is not null && (newQuota is null ? account.MailQuotaMegabytes is not null : newQuota > account.MailQuotaMegabytes);
        if (account.ResellerId is { } resellerId && quotaGrows
            && await ResellerLimits.ProblemAsync(db, resellerId, account.OwnerName, account.Id, newAccount: false, newQuota, cancellationToken) is { } overLimit)
        {
            var message = $"Account {username} was not changed: " + overLimit;
            await audit.RecordAsync(actor, "account.modify", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalValidationException(message, [overLimit], "reseller.limit");
        }

        // A reseller neither lifts nor rewords a suspension an admin made (its customer may be suspended for abuse).
        if (account is { Status: AccountStatus.Suspended, SuspendedByAdmin: true } && !actor.IsAdmin
            && (status == AccountStatus.Active || (reason is not null && reason != account.SuspensionReason)))
        {
            var message = $"Account {username} was suspended by an administrator ({account.SuspensionReason}); only an administrator can lift or change that suspension.";
            await audit.RecordAsync(actor, "account.modify", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalForbiddenException(message, "account.suspended_by_admin");
        }

        var suspending = account.Status == AccountStatus.Active && status == AccountStatus.Suspended;
        var lifting = account.Status == AccountStatus.Suspended && status == AccountStatus.Active;
        account.ContactEmail = change.ContactEmail?.Trim() ?? account.ContactEmail;
        account.Features = features;
        account.Ipv6Enabled = ipv6;
        account.Status = status;
        if (change.MailQuotaMegabytes is { } limit)
        {
            // Lowered below what the mailboxes are given, it refuses new mailboxes and larger quotas until they fit.
            account.MailQuotaMegabytes = limit > 0 ? limit : null;
        }

        if (suspending)
        {
            account.SuspendedAt = clock.GetUtcNow();
            account.SuspendedByAdmin = actor.IsAdmin;
        }

        if (status == AccountStatus.Suspended)
        {
            account.SuspensionReason = reason ?? account.SuspensionReason ?? AccountSuspension.DefaultReason;
            // An admin who gives a suspension its reason makes it theirs: the reseller no longer lifts it.
            account.SuspendedByAdmin |= actor.IsAdmin && reason is not null;
        }
        else
        {
            (account.SuspensionReason, account.SuspendedAt, account.SuspendedByAdmin) = (null, null, false);
        }
        if (account.MailNodeId is { } nodeId)
        {
            var node = await db.LinkedNodes.AsNoTracking().SingleAsync(n => n.Id == nodeId, cancellationToken);
            try
            {
                await clients.Create(links.EndpointOf(node)).UpdateAccountTwinAsync(AccountTwins.TwinOf(account), cancellationToken);
            }
            catch (NodeApiException ex)
            {
                var message = $"Account {username} was not changed: its mail node {node.Alias} could not be updated ({ex.Message}). Try again when it is online.";
                await audit.RecordAsync(actor, "account.modify", username, AuditOutcome.Failed, message, cancellationToken);
                throw new PortalValidationException(message, code: "account.child_failed");
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        orders.Invalidate();
        // The owner's tokens follow the account's "API Tokens" feature and its suspension from the next call on.
        tokens.ForgetRecentChecks();
        await mailState.RepublishAsync(cancellationToken);
        if (suspending)
        {
            await EndOwnerSessionsAsync(account, cancellationToken);
        }

        await audit.RecordAsync(actor, "account.modify", username, AuditOutcome.Succeeded,
            $"Contact {account.ContactEmail}; features {string.Join(",", account.Features)}; IPv6 {(account.Ipv6Enabled ? "on" : "off")}; {account.Status}.", cancellationToken);
        if (suspending || lifting)
        {
            await audit.RecordAsync(actor, suspending ? "account.suspend" : "account.unsuspend", username, AuditOutcome.Succeeded,
                suspending ? account.SuspensionReason : null, cancellationToken);
        }

        var package = account.PackageId is { } packageId ? await db.Packages.Where(p => p.Id == packageId).Select(p => p.Name).SingleOrDefaultAsync(cancellationToken) : null;
        return AccountRow.From(account) with { Package = package };
    }

    /// <summary>Sets where a reseller's new accounts keep their mail. Its existing accounts keep theirs.</summary>
    public async Task<ResellerRow> SetResellerMailNodeAsync(Actor actor, string resellerName, Guid? nodeId, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "reseller.mail-node", resellerName, AuditOutcome.Refused, "Not an admin.", cancellationToken);
            throw new PortalForbiddenException("Only admins set a reseller's mail routing.");
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var reseller = await users.FindByNameAsync(resellerName);
        if (reseller is null || !await users.IsInRoleAsync(reseller, PortalRoles.Reseller))
        {
            throw new PortalNotFoundException($"There is no reseller \"{resellerName}\" on this node.");
        }

        string? alias = null;
        if (nodeId is { } id)
        {
            var choice = (await MailNodes.ChoicesAsync(db, cancellationToken)).SingleOrDefault(c => c.Id == id);
            if (choice is not { ServesMail: true })
            {
                var message = choice is null ? "That node is not linked to this one." : $"Node {choice.Alias} does not serve mail.";
                await audit.RecordAsync(actor, "reseller.mail-node", resellerName, AuditOutcome.Refused, message, cancellationToken);
                throw new PortalValidationException(message + " Choose a linked mail node, or local.", code: "routing.not_mail");
            }

            alias = choice.Alias;
        }

        var row = await db.ResellerSettings.SingleOrDefaultAsync(r => r.UserId == reseller.Id, cancellationToken);
        if (row is null)
        {
            row = new ResellerSettings { UserId = reseller.Id };
            db.ResellerSettings.Add(row);
        }

        var was = row.MailNodeId;
        row.MailNodeId = nodeId;
        await db.SaveChangesAsync(cancellationToken);
        await audit.RecordAsync(actor, "reseller.mail-node", resellerName, AuditOutcome.Succeeded,
            $"Mail of new accounts: {alias ?? "local"} (was {(was is null ? "local" : was.ToString())}). Existing accounts keep theirs.", cancellationToken);
        return await ResellerLimits.RowAsync(db, reseller.Id, reseller.UserName!, cancellationToken);
    }

    /// <summary>
    /// A suspension takes effect for what is already open too: the owner's panel sessions end at their next check (a
    /// new security stamp; the UI checks every minute) and the IMAP/POP3 sessions of the account's mailboxes here end
    /// now (those on a child end there, when its twin is suspended).
    /// </summary>
    private async Task EndOwnerSessionsAsync(Account account, CancellationToken ct)
    {
        if (account.UserId is { } userId)
        {
            await using var scope = scopes.CreateAsyncScope();
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            if (await users.FindByIdAsync(userId) is { } owner)
            {
                await users.UpdateSecurityStampAsync(owner);
            }
        }

        if (account.MailNodeId is null)
        {
            await mailState.EndSessionsAsync(account.Id, ct);
        }
    }

    private async Task CheckChildrenAsync(string username, string domain, List<string> problems, List<string> warnings, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var children = await db.LinkedNodes.AsNoTracking().ToListAsync(ct);
        await Task.WhenAll(children.Select(async child =>
        {
            try
            {
                var taken = await clients.Create(links.EndpointOf(child)).CheckAccountAsync(username, domain, ct);
                lock (problems)
                {
                    if (taken.UsernameTaken)
                    {
                        problems.Add($"The user name \"{username}\" is taken on child node {child.Alias}; choose another.");
                    }

                    if (taken.DomainTaken)
                    {
                        problems.Add($"The domain {DomainNames.ToUnicode(domain)} already belongs to an account on child node {child.Alias}.");
                    }

                    if (taken.HeldForFormerParent)
                    {
                        problems.Add($"On {child.Alias} that is an account a former parent left there: its admin releases it under Link Server Nodes (accounts of a former parent), then try again.");
                    }
                }
            }
            catch (NodeApiException ex)
            {
                lock (warnings)
                {
                    warnings.Add($"Child node {child.Alias} could not be asked whether the name or domain is free there ({ex.Message}).");
                }
            }
        }));
    }

    private static async Task<MailRouting> ResellerRoutingAsync(PortalDbContext db, string resellerId, CancellationToken ct)
    {
        var nodeId = await db.ResellerSettings.Where(r => r.UserId == resellerId).Select(r => r.MailNodeId).SingleOrDefaultAsync(ct);
        return MailRouting.OfReseller(nodeId);
    }

    private async Task TryDeleteTwinAsync(NodeApiClient child, string username)
    {
        try
        {
            await child.DeleteAccountTwinAsync(username, CancellationToken.None);
        }
        catch (NodeApiException ex)
        {
            logger.LogWarning("Could not remove the twin of {Username} from {Node} after a failed create: {Reason}", username, child.Endpoint.BaseUrl, ex.Message);
        }
    }

    private static void Require(IdentityResult result)
    {
        if (!result.Succeeded)
        {
            var errors = result.Errors.Select(e => e.Description).ToArray();
            throw new PortalValidationException("The account was not created: " + string.Join(" ", errors), errors, "account.invalid");
        }
    }
}
