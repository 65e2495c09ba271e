using Microsoft.AspNetCore.Identity;
using Portal.Features.Audit;
using Portal.Features.Identity;
using Portal.Infrastructure.Security;

namespace Portal.Features.Passwords;

public sealed record OwnPasswordChange(string CurrentPassword, string NewPassword);

/// <summary>A signed-in user (any role) changes their own panel password, and learns when it must be changed.</summary>
public sealed class OwnPasswordService(IServiceScopeFactory scopes, PasswordPolicyService policies, AuditLog audit, TimeProvider clock)
{
    public async Task ChangeAsync(Actor actor, OwnPasswordChange change, CancellationToken ct = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var user = actor.UserId is { } id ? await users.FindByIdAsync(id) : null;
        if (user is null)
        {
            throw new PortalForbiddenException("Sign in to change your password.");
        }

        if (!await users.CheckPasswordAsync(user, change.CurrentPassword ?? ""))
        {
            await audit.RecordAsync(actor, "password.change", user.UserName, AuditOutcome.Refused, "The current password was wrong.", ct);
            throw new PortalValidationException("Your current password is not right; type it again.", code: "password.current_wrong");
        }

        if (string.Equals(change.CurrentPassword, change.NewPassword, StringComparison.Ordinal))
        {
            await audit.RecordAsync(actor, "password.change", user.UserName, AuditOutcome.Refused, "The new password was the current one.", ct);
            throw new PortalValidationException("The new password must differ from the current one.", code: "password.unchanged");
        }

        var result = await users.ChangePasswordAsync(user, change.CurrentPassword!, change.NewPassword ?? "");
        if (!result.Succeeded)
        {
            var problems = result.Errors.Select(e => e.Description).ToArray();
            await audit.RecordAsync(actor, "password.change", user.UserName, AuditOutcome.Refused, string.Join(" ", problems), ct);
            var code = result.Errors.FirstOrDefault()?.Code == PolicyPasswordValidator.Code ? PolicyPasswordValidator.Code : "password.invalid";
            throw new PortalValidationException(string.Join(" ", problems), problems, code);
        }

        user.PasswordChangedAt = clock.GetUtcNow();
        await users.UpdateAsync(user);
        await audit.RecordAsync(actor, "password.change", user.UserName, AuditOutcome.Succeeded, null, ct);
    }

    /// <summary>Whether the actor's password is past this node's password age (they are sent to change it).</summary>
    public async Task<bool> MustChangeAsync(Actor actor, CancellationToken ct = default)
    {
        if (actor.UserId is null || (await policies.GetAsync(ct)).MaxPasswordAgeDays == 0)
        {
            return false;
        }

        await using var scope = scopes.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>().FindByIdAsync(actor.UserId);
        return user is not null && await policies.IsExpiredAsync(user.PasswordChangedAt, ct);
    }
}
