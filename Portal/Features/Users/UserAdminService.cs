using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Portal.Features.Users;

public sealed record NewUser(string UserName, string? Email, string Role, string? Password);

public sealed record CreatedUser(string Id, string UserName, string Role, string? GeneratedPassword);

/// <summary>A password an admin had generated for a user: shown to the admin once, never stored or logged.</summary>
public sealed record PasswordReset(string UserName, string GeneratedPassword);

public sealed record UserRow(string Id, string UserName, string? Email, string Role, bool LockedOut, DateTimeOffset CreatedAt, bool TwoFactorEnabled = false);

/// <summary>
/// The two kinds of lock a user can have: an admin's (until unlocked: <see cref="DateTimeOffset.MaxValue"/>), which stops
/// the user and their API tokens, and the lockout failed sign-ins cause (for a while), which stops only sign-in.
/// </summary>
public static class UserLocks
{
    public static readonly DateTimeOffset ByAnAdmin = DateTimeOffset.MaxValue;

    public static bool IsDisabled(PortalUser user) => user.LockoutEnabled && user.LockoutEnd == ByAnAdmin;
}

/// <summary>A change to a user: null leaves a field as it is; an empty email clears it.</summary>
public sealed record UserChange(string? Email = null, string? Role = null);

/// <summary>Who an admin views the panel as, and the area that opens.</summary>
public sealed record ViewAsStart(PortalUser User, PortalUser Admin, string Home);

public sealed record UserQuery(string? Search = null, string? Role = null, int Skip = 0, int Take = 25);

public sealed record UserPage(IReadOnlyList<UserRow> Items, int Total);

/// <summary>
/// Admins create resellers and users, list them, change their email or role, delete them, lock or unlock them, give
/// them a new password and view the panel as them. Every rule is checked here, whoever calls
/// (a page or an API), and every change or refusal is audited.
/// </summary>
public sealed partial class UserAdminService(
    IServiceScopeFactory scopes,
    IDbContextFactory<PortalDbContext> dbFactory,
    ApiTokenService tokens,
    AccountOrderCache accountOrder,
    AuditLog audit,
    TimeProvider clock)
{
    /// <summary>Roles an admin may give to a new user.</summary>
    public static readonly IReadOnlyList<string> AssignableRoles = [PortalRoles.Reseller, PortalRoles.User];

    [GeneratedRegex("^[a-z][a-z0-9._-]{2,31}$")]
    private static partial Regex UserNamePattern();

    public async Task<CreatedUser> CreateAsync(Actor actor, NewUser request, CancellationToken cancellationToken = default)
    {
        var target = request.UserName?.Trim() ?? "";
        await RequireAdminAsync(actor, "user.create", target, cancellationToken);

        var problems = new List<string>();
        if (!UserNamePattern().IsMatch(target))
        {
            problems.Add("The user name must be 3-32 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter.");
        }

        if (!AssignableRoles.Contains(request.Role))
        {
            problems.Add($"The role must be one of: {string.Join(", ", AssignableRoles)}.");
        }

        var email = string.IsNullOrWhiteSpace(request.Email) ? null : request.Email.Trim();
        if (email is not null && !new EmailAddressAttribute().IsValid(email))
        {
            problems.Add($"\"{email}\" is not an email address; give one like owner@example.com, or leave it empty.");
        }

        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        if (problems.Count == 0 && await users.FindByNameAsync(target) is not null)
        {
            problems.Add($"A user named \"{target}\" already exists; choose another name.");
        }

        var generated = string.IsNullOrEmpty(request.Password) ? GeneratePassword() : null;
        var password = request.Password is { Length: > 0 } given ? given : generated!;
        var audited = new List<string>(problems);
        if (problems.Count == 0)
        {
            var (weak, forAudit) = await users.PasswordProblemsAsync(target, email, password);
            problems.AddRange(weak);
            audited.AddRange(forAudit);
        }

        if (problems.Count > 0)
        {
            await audit.RecordAsync(actor, "user.create", target, AuditOutcome.Refused, string.Join(" ", audited), cancellationToken);
            throw new PortalValidationException("The user was not created: " + string.Join(" ", problems), problems);
        }

        var user = new PortalUser { UserName = target, Email = email, CreatedAt = clock.GetUtcNow(), PasswordChangedAt = clock.GetUtcNow(), LockoutEnabled = true };
        var created = await users.CreateWithJudgedPasswordAsync(user, password);
        if (created.Succeeded)
        {
            created = await users.AddToRoleAsync(user, request.Role);
        }

        if (!created.Succeeded)
        {
            var errors = created.Errors.Select(e => e.Description).ToArray();
            await audit.RecordAsync(actor, "user.create", target, AuditOutcome.Failed, string.Join(" ", PasswordRefusal.ForAudit(created.Errors)), cancellationToken);
            throw new PortalValidationException("The user was not created: " + string.Join(" ", errors), errors);
        }

        await audit.RecordAsync(actor, "user.create", target, AuditOutcome.Succeeded, $"Role {request.Role}", cancellationToken);
        return new CreatedUser(user.Id, target, request.Role, generated);
    }

    public async Task<UserPage> ListAsync(Actor actor, UserQuery query, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins can list users.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows =
            from u in db.Users.AsNoTracking()
            join ur in db.UserRoles on u.Id equals ur.UserId
            join r in db.Roles on ur.RoleId equals r.Id
            select new { u, Role = r.Name! };
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            var term = query.Search.Trim().ToLowerInvariant();
            rows = rows.Where(x => x.u.UserName!.Contains(term) || (x.u.Email != null && x.u.Email.ToLower().Contains(term)));
        }

        if (!string.IsNullOrWhiteSpace(query.Role))
        {
            rows = rows.Where(x => x.Role == query.Role);
        }

        var now = clock.GetUtcNow();
        var total = await rows.CountAsync(cancellationToken);
        var page = await rows.OrderBy(x => x.u.UserName)
            .Skip(Math.Max(0, query.Skip)).Take(Math.Clamp(query.Take, 1, 200))
            .Select(x => new UserRow(x.u.Id, x.u.UserName!, x.u.Email, x.Role, x.u.LockoutEnd != null && x.u.LockoutEnd > now, x.u.CreatedAt, x.u.TwoFactorEnabled))
            .ToListAsync(cancellationToken);
        return new UserPage(page, total);
    }

    public async Task SetLockedAsync(Actor actor, string userId, bool locked, CancellationToken cancellationToken = default)
    {
        var action = locked ? "user.lock" : "user.unlock";
        await RequireAdminAsync(actor, action, userId, cancellationToken);
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var user = await users.FindByIdAsync(userId);
        if (user is null)
        {
            await audit.RecordAsync(actor, action, userId, AuditOutcome.Refused, "No such user.", cancellationToken);
            throw new PortalValidationException("That user does not exist (it may have been deleted); reload the list.");
        }

        if (user.Id == actor.UserId)
        {
            await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Refused, "Admins cannot lock themselves out.", cancellationToken);
            throw new PortalValidationException("You cannot lock your own account; ask another admin.");
        }

        await users.SetLockoutEnabledAsync(user, true);
        await users.SetLockoutEndDateAsync(user, locked ? UserLocks.ByAnAdmin : null);
        if (!locked)
        {
            await users.ResetAccessFailedCountAsync(user);
        }

        // Signs the user out of open sessions at the next validation, and refuses their API tokens from the next call.
        await users.UpdateSecurityStampAsync(user);
        tokens.ForgetRecentChecks();
        await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Succeeded, null, cancellationToken);
    }

    /// <summary>
    /// Gives a reseller or an owner a new generated password (a customer who lost theirs), shown to the admin once: the
    /// old password stops at once, their open sessions at the next check of the security stamp (within a minute). Not one's own (the Password page asks for the current one), and
    /// not another admin's (theirs to change).
    /// </summary>
    public async Task<PasswordReset> ResetPasswordAsync(Actor actor, string userName, CancellationToken cancellationToken = default)
    {
        const string action = "user.password.reset";
        await RequireAdminAsync(actor, action, userName, cancellationToken);
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var user = await users.FindByNameAsync(userName);
        string? refusal = user is null ? "That user does not exist (it may have been deleted); reload the list."
            : user.Id == actor.UserId ? "Change your own password on the Password page; it asks for the current one."
            : await users.IsInRoleAsync(user, PortalRoles.Admin) ? $"{user.UserName} is an admin: their password is theirs to change. Lock the account if it must stop."
            : null;
        if (refusal is not null)
        {
            await audit.RecordAsync(actor, action, user?.UserName ?? userName, AuditOutcome.Refused, refusal, cancellationToken);
            throw new PortalValidationException(refusal, null, "user.password_reset_refused");
        }

        var password = GeneratePassword();
        var changed = await users.ResetPasswordAsync(user!, await users.GeneratePasswordResetTokenAsync(user!), password);
        if (!changed.Succeeded)
        {
            await audit.RecordAsync(actor, action, user!.UserName, AuditOutcome.Failed, string.Join(" ", PasswordRefusal.ForAudit(changed.Errors)), cancellationToken);
            throw new PortalValidationException("The password was not changed: " + string.Join(" ", changed.Errors.Select(e => e.Description)));
        }

        user!.PasswordChangedAt = clock.GetUtcNow();
        await users.UpdateAsync(user);
        // The reset changed the security stamp: open sessions end at their next validation.
        tokens.ForgetRecentChecks();
        await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Succeeded, "A generated password, shown to the admin once.", cancellationToken);
        return new PasswordReset(user.UserName!, password);
    }

    /// <summary>
    /// Changes a reseller's or an owner's email or role. A role change is refused where it would break what the user
    /// holds: an account's owner stays a user (the account is theirs to sign in to), and a reseller with accounts stays
    /// a reseller until they are given to another owner or terminated. Their open sessions end (the role is in them).
    /// </summary>
    public async Task<UserRow> UpdateAsync(Actor actor, string userName, UserChange change, CancellationToken cancellationToken = default)
    {
        const string action = "user.update";
        await RequireAdminAsync(actor, action, userName, cancellationToken);
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var (user, role) = await ManagedUserAsync(actor, users, action, userName, "changed", cancellationToken);

        var problems = new List<string>();
        var email = change.Email is null ? user.Email : change.Email.Trim() is { Length: > 0 } given ? given : null;
        if (email is not null && email != user.Email && !new EmailAddressAttribute().IsValid(email))
        {
            problems.Add($"\"{email}\" is not an email address; give one like owner@example.com, or leave it empty.");
        }

        var newRole = change.Role ?? role;
        if (!AssignableRoles.Contains(newRole))
        {
            problems.Add($"The role must be one of: {string.Join(", ", AssignableRoles)}.");
        }
        else if (newRole != role && role == PortalRoles.User
                 && await OwnedAccountAsync(db, user.Id, cancellationToken) is { } owned)
        {
            problems.Add($"{user.UserName} signs in to account {owned}, so they stay a user. Create a separate reseller for them instead.");
        }
        else if (newRole != role && role == PortalRoles.Reseller
                 && await ResellerAccountCountAsync(db, user.Id, cancellationToken) is var count and > 0)
        {
            problems.Add($"{user.UserName} owns {count} account(s), so they stay a reseller. Delete them with their accounts given to root, or terminate the accounts first.");
        }

        if (problems.Count > 0)
        {
            await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Refused, string.Join(" ", problems), cancellationToken);
            throw new PortalValidationException($"{user.UserName} was not changed: " + string.Join(" ", problems), problems, "user.invalid");
        }

        var changes = new List<string>();
        if (email != user.Email)
        {
            changes.Add($"email {user.Email ?? "(none)"} → {email ?? "(none)"}");
            user.Email = email;
            user.NormalizedEmail = email is null ? null : users.NormalizeEmail(email);
        }

        if (newRole != role)
        {
            changes.Add($"role {role} → {newRole}");
            await users.RemoveFromRoleAsync(user, role);
            await users.AddToRoleAsync(user, newRole);
            if (role == PortalRoles.Reseller)
            {
                await db.ResellerSettings.Where(r => r.UserId == user.Id).ExecuteDeleteAsync(cancellationToken);
            }

            // Sessions carry the role: they end at their next check, and the user signs in to their new area.
            await users.UpdateSecurityStampAsync(user);
            tokens.ForgetRecentChecks();
        }

        if (changes.Count > 0)
        {
            var updated = await users.UpdateAsync(user);
            if (!updated.Succeeded)
            {
                var errors = updated.Errors.Select(e => e.Description).ToArray();
                await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Failed, string.Join(" ", errors), cancellationToken);
                throw new PortalValidationException($"{user.UserName} was not changed: " + string.Join(" ", errors), errors);
            }

            await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Succeeded, string.Join("; ", changes) + ".", cancellationToken);
        }

        return new UserRow(user.Id, user.UserName!, user.Email, newRole, user.LockoutEnd > clock.GetUtcNow(), user.CreatedAt, user.TwoFactorEnabled);
    }

    /// <summary>
    /// Deletes a reseller or a user that owns no account. An account's owner goes with the account (terminate it); a
    /// reseller's accounts are either given to root with it (<paramref name="accountsToRoot"/>) or it is refused, saying
    /// how many there are. Their API tokens, notifications and settings go with them; their audit entries stay.
    /// </summary>
    public async Task DeleteAsync(Actor actor, string userName, bool accountsToRoot = false, CancellationToken cancellationToken = default)
    {
        const string action = "user.delete";
        await RequireAdminAsync(actor, action, userName, cancellationToken);
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var (user, role) = await ManagedUserAsync(actor, users, action, userName, "deleted", cancellationToken);

        string? refusal = null;
        if (await OwnedAccountAsync(db, user.Id, cancellationToken) is { } owned)
        {
            refusal = $"{user.UserName} is the owner of account {owned}. Terminate the account instead: its owner goes with it.";
        }
        else if (!accountsToRoot && await ResellerAccountCountAsync(db, user.Id, cancellationToken) is var count and > 0)
        {
            refusal = $"{user.UserName} owns {count} account(s). Give them to root as you delete the reseller, or terminate them first.";
        }

        if (refusal is not null)
        {
            await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Refused, refusal, cancellationToken);
            throw new PortalValidationException(refusal, null, "user.delete_refused");
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var given = await db.Accounts.Where(a => a.ResellerId == user.Id)
            .ExecuteUpdateAsync(a => a.SetProperty(x => x.ResellerId, (string?)null).SetProperty(x => x.OwnerName, "root"), cancellationToken);
        var revoked = await db.ApiTokens.Where(t => t.OwnerUserId == user.Id).ExecuteDeleteAsync(cancellationToken);
        await db.Notifications.Where(n => n.UserId == user.Id).ExecuteDeleteAsync(cancellationToken);
        await db.ResellerSettings.Where(r => r.UserId == user.Id).ExecuteDeleteAsync(cancellationToken);
        var tracked = await db.Users.SingleAsync(u => u.Id == user.Id, cancellationToken);
        db.Users.Remove(tracked);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        accountOrder.Invalidate();
        tokens.ForgetRecentChecks();
        await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Succeeded,
            $"Role {role}; {revoked} API token(s) revoked" + (given > 0 ? $"; {given} account(s) given to root." : "."), cancellationToken);
    }

    /// <summary>
    /// Checks that an admin may view the panel as <paramref name="userName"/> and audits it: a reseller or an owner who
    /// could sign in here now (not locked, not refused by the node's sign-in rules: a child node, a suspended account).
    /// The caller signs the admin in as them with <see cref="ViewAs.ClaimsFor"/>.
    /// </summary>
    public async Task<ViewAsStart> BeginViewAsAsync(Actor actor, string userName, CancellationToken cancellationToken = default)
    {
        const string action = "user.view_as";
        await RequireAdminAsync(actor, action, userName, cancellationToken);
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var (user, role) = await ManagedUserAsync(actor, users, action, userName, "viewed as", cancellationToken);
        var admin = await users.FindByIdAsync(actor.UserId!) ?? throw new PortalForbiddenException("Sign in again.");
        if ((await AdminRefusalAsync(scope, admin) ?? await ViewAsRefusalAsync(scope, user, cancellationToken)) is { } refusal)
        {
            await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Refused, refusal, cancellationToken);
            throw new PortalValidationException(refusal, null, "user.view_as_refused");
        }

        await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Succeeded, $"For up to {ViewAs.Lifetime.TotalMinutes:0} minutes; audit entries read \"{admin.UserName} as {user.UserName}\".", cancellationToken);
        return new ViewAsStart(user, admin, PortalRoles.HomeOf(role));
    }

    /// <summary>Why the admin may not view the panel as this user, or null: what the users page asks before it offers to.</summary>
    public async Task<string?> ViewAsRefusalAsync(Actor actor, string userName, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            return "Only admins view the panel as another user.";
        }

        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var user = await users.FindByNameAsync(userName);
        var admin = actor.UserId is { } id ? await users.FindByIdAsync(id) : null;
        return user is null ? $"There is no user named \"{userName}\"; reload the list."
            : admin is not null && await AdminRefusalAsync(scope, admin) is { } adminRefusal ? adminRefusal
            : ManagedRefusal(actor, user, await users.GetRolesAsync(user), "viewed as") ?? await ViewAsRefusalAsync(scope, user, cancellationToken);
    }

    /// <summary>
    /// An admin that this node requires to use two-factor sign-in, and who has not set it up, is kept from every admin
    /// page; viewing as a customer would be a way round that.
    /// </summary>
    private static async Task<string?> AdminRefusalAsync(AsyncServiceScope scope, PortalUser admin)
    {
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var twoFactor = scope.ServiceProvider.GetRequiredService<TwoFactorService>();
        return await twoFactor.IsRequiredAsync(admin) && !await users.GetTwoFactorEnabledAsync(admin)
            ? "This node requires two-factor sign-in of its administrators: set yours up first (Two-factor sign-in), then view the panel as another user."
            : null;
    }

    private static async Task<string?> ViewAsRefusalAsync(AsyncServiceScope scope, PortalUser user, CancellationToken ct)
    {
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var signIn = (PortalSignInManager)scope.ServiceProvider.GetRequiredService<SignInManager<PortalUser>>();
        return await users.IsLockedOutAsync(user) ? $"{user.UserName} is locked: unlock them first, or help them another way."
            : await signIn.RefusalAsync(user, ct) is { } refused ? $"{user.UserName} cannot sign in here, so there is no panel of theirs to view. {refused.Message}"
            : null;
    }

    /// <summary>The admin a view-as session returns to, audited; null when it may not (then the session just ends).</summary>
    public async Task<PortalUser?> EndViewAsAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        const string action = "user.view_as.end";
        if (actor.ViewedBy is null)
        {
            throw new PortalValidationException("This is your own session, not a view as another user.", null, "view_as.not_viewing");
        }

        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var allowed = await ViewAs.StillAllowedAsync(users, actor.Principal, clock.GetUtcNow());
        var admin = allowed ? await users.FindByIdAsync(actor.Principal.FindFirst(ViewAs.AdminIdClaim)!.Value) : null;
        await audit.RecordAsync(actor, action, actor.Name, admin is null ? AuditOutcome.Refused : AuditOutcome.Succeeded,
            admin is null ? "The view had ended or its admin may no longer hold it: signed out instead." : null, cancellationToken);
        return admin;
    }

    /// <summary>A reseller or an owner an admin may change: it exists, and is not an admin (nor the admin themself).</summary>
    private async Task<(PortalUser User, string Role)> ManagedUserAsync(Actor actor, UserManager<PortalUser> users, string action, string userName, string verb, CancellationToken ct)
    {
        var user = await users.FindByNameAsync(userName ?? "");
        var roles = user is null ? [] : await users.GetRolesAsync(user);
        var refusal = user is null ? $"There is no user named \"{userName}\" (they may have been deleted); reload the list." : ManagedRefusal(actor, user, roles, verb);
        if (refusal is not null)
        {
            await audit.RecordAsync(actor, action, user?.UserName ?? userName, AuditOutcome.Refused, refusal, ct);
            throw user is null ? new PortalNotFoundException(refusal) : new PortalValidationException(refusal, null, "user.not_managed");
        }

        return (user!, roles.Single());
    }

    /// <summary>The account a user signs in to as its owner, if any (an owner has one).</summary>
    private static Task<string?> OwnedAccountAsync(PortalDbContext db, string userId, CancellationToken ct) =>
        db.Accounts.AsNoTracking().Where(a => a.UserId == userId).Select(a => a.Username).FirstOrDefaultAsync(ct);

    private static Task<int> ResellerAccountCountAsync(PortalDbContext db, string resellerId, CancellationToken ct) =>
        db.Accounts.CountAsync(a => a.ResellerId == resellerId, ct);

    private static string? ManagedRefusal(Actor actor, PortalUser user, IList<string> roles, string verb) =>
        user.Id == actor.UserId ? $"Your own account is not {verb} here."
        : roles.Contains(PortalRoles.Admin) ? $"{user.UserName} is an admin; only resellers and users are {verb} here."
        : null;

    private async Task RequireAdminAsync(Actor actor, string action, string target, CancellationToken ct)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, action, target, AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins can manage users.");
        }
    }

    /// <summary>
    /// A random password of 20 characters from an alphabet without look-alikes (about 112 bits), drawn again in the
    /// rare case that the estimator sees a pattern in it: a generated password meets any strength a node can require.
    /// </summary>
    public static string GeneratePassword()
    {
        const string alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
        while (true)
        {
            var password = RandomNumberGenerator.GetString(alphabet, 20);
            if (PasswordStrength.Estimate(password).Strength == PasswordStrength.Max)
            {
                return password;
            }
        }
    }
}
