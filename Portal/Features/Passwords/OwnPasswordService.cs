namespace Portal.Features.Passwords;

/// <param name="RevokeApiTokens">Also revoke every API token the user holds (a password change after a leak should end those too).</param>
public sealed record OwnPasswordChange(string CurrentPassword, string NewPassword, bool RevokeApiTokens = false);

/// <summary>What a password change did beyond the password: how many of the user's API tokens it revoked.</summary>
public sealed record OwnPasswordChanged(int RevokedApiTokens);

/// <summary>A signed-in user (any role) changes their own panel password, and learns when it must be changed.</summary>
public sealed class OwnPasswordService(IServiceScopeFactory scopes, PasswordPolicyService policies, ApiTokenService tokens, AuditLog audit, TimeProvider clock)
{
    /// <summary>
    /// Changes the password given the current one. Wrong current passwords count towards the lockout as at sign-in
    /// (a stolen session cannot guess on here forever), and a locked-out user changes nothing until it ends. The
    /// audit records why a change was refused, never anything of the password itself.
    /// </summary>
    public async Task<OwnPasswordChanged> ChangeAsync(Actor actor, OwnPasswordChange change, CancellationToken ct = default)
    {
        actor.RequireOwnSession("their password");
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var user = actor.UserId is { } id ? await users.FindByIdAsync(id) : null;
        if (user is null)
        {
            throw new PortalForbiddenException("Sign in to change your password.");
        }

        if (await users.IsLockedOutAsync(user))
        {
            await audit.RecordAsync(actor, "password.change", user.UserName, AuditOutcome.Refused, "Locked out after wrong passwords.", ct);
            throw new PortalValidationException("Too many wrong passwords: your sign-in is locked for a while. Try again later.", code: "password.locked_out");
        }

        if (!await users.CheckPasswordAsync(user, change.CurrentPassword ?? ""))
        {
            await users.AccessFailedAsync(user);
            await audit.RecordAsync(actor, "password.change", user.UserName, AuditOutcome.Refused, "The current password was wrong.", ct);
            throw new PortalValidationException("Your current password is not right; type it again. After several wrong attempts your sign-in is locked for a while.", code: "password.current_wrong");
        }

        await users.ResetAccessFailedCountAsync(user);

        if (string.Equals(change.CurrentPassword, change.NewPassword, StringComparison.Ordinal))
        {
            await audit.RecordAsync(actor, "password.change", user.UserName, AuditOutcome.Refused, "The new password was the current one.", ct);
            throw new PortalValidationException("The new password must differ from the current one.", code: "password.unchanged");
        }

        var result = await users.ChangePasswordAsync(user, change.CurrentPassword!, change.NewPassword ?? "");
        if (!result.Succeeded)
        {
            var problems = result.Errors.Select(e => e.Description).ToArray();
            var code = result.Errors.FirstOrDefault()?.Code == PolicyPasswordValidator.Code ? PolicyPasswordValidator.Code : "password.invalid";
            // The person sees what makes the password weak; the audit keeps only that it was refused (the hints name
            // parts of the password).
            await audit.RecordAsync(actor, "password.change", user.UserName, AuditOutcome.Refused, string.Join(" ", PasswordRefusal.ForAudit(result.Errors)), ct);
            throw new PortalValidationException(string.Join(" ", problems), problems, code);
        }

        user.PasswordChangedAt = clock.GetUtcNow();
        await users.UpdateAsync(user);
        var revoked = change.RevokeApiTokens ? await tokens.RevokeOwnAsync(actor, ct) : 0;
        await audit.RecordAsync(actor, "password.change", user.UserName, AuditOutcome.Succeeded,
            change.RevokeApiTokens ? $"Their {revoked} API token(s) revoked with it." : null, ct);
        return new OwnPasswordChanged(revoked);
    }

    /// <summary>Whether the actor's password is past this node's password age (they are sent to change it).</summary>
    public async Task<bool> MustChangeAsync(Actor actor, CancellationToken ct = default)
    {
        // An admin viewing as the user is not sent to change the user's password (only the user may).
        if (actor.UserId is null || actor.ViewedBy is not null || (await policies.GetAsync(ct)).MaxPasswordAgeDays == 0)
        {
            return false;
        }

        await using var scope = scopes.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>().FindByIdAsync(actor.UserId);
        return user is not null && await policies.IsExpiredAsync(user.PasswordChangedAt, ct);
    }
}
