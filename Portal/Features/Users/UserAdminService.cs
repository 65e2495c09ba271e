using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Portal.Features.Audit;
using Portal.Features.Identity;
using Portal.Infrastructure.Data;
using Portal.Infrastructure.Security;

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

public sealed record UserQuery(string? Search = null, string? Role = null, int Skip = 0, int Take = 25);

public sealed record UserPage(IReadOnlyList<UserRow> Items, int Total);

/// <summary>
/// Admins create resellers and users, list them, lock or unlock them and give them a new password. Every rule is checked here, whoever calls
/// (a page or an API), and every change or refusal is audited.
/// </summary>
public sealed partial class UserAdminService(
    IServiceScopeFactory scopes,
    IDbContextFactory<PortalDbContext> dbFactory,
    ApiTokens.ApiTokenService tokens,
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
            await audit.RecordAsync(actor, "user.create", target, AuditOutcome.Failed, string.Join(" ", Passwords.PasswordRefusal.ForAudit(created.Errors)), cancellationToken);
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
            await audit.RecordAsync(actor, action, user!.UserName, AuditOutcome.Failed, string.Join(" ", Passwords.PasswordRefusal.ForAudit(changed.Errors)), cancellationToken);
            throw new PortalValidationException("The password was not changed: " + string.Join(" ", changed.Errors.Select(e => e.Description)));
        }

        user!.PasswordChangedAt = clock.GetUtcNow();
        await users.UpdateAsync(user);
        // The reset changed the security stamp: open sessions end at their next validation.
        tokens.ForgetRecentChecks();
        await audit.RecordAsync(actor, action, user.UserName, AuditOutcome.Succeeded, "A generated password, shown to the admin once.", cancellationToken);
        return new PasswordReset(user.UserName!, password);
    }

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
            if (Passwords.PasswordStrength.Estimate(password).Strength == Passwords.PasswordStrength.Max)
            {
                return password;
            }
        }
    }
}
