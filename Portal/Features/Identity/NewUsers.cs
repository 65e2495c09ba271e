namespace Portal.Features.Identity;

/// <summary>
/// Creating a sign-in in two halves: the password is judged first, with the other checks and before anything is made
/// (an account's twin on a child, say), and the user is then created with it without judging it again (the strength
/// estimate is the expensive part).
/// </summary>
public static class NewUsers
{
    /// <summary>
    /// What every password validator (the node's policy among them) has against this password for this user: as the
    /// person is told, and as the audit log may keep it (nothing of the password).
    /// </summary>
    public static async Task<(IReadOnlyList<string> Problems, IReadOnlyList<string> ForAudit)> PasswordProblemsAsync(this UserManager<PortalUser> users, string userName, string? email, string password)
    {
        var errors = new List<IdentityError>();
        foreach (var validator in users.PasswordValidators)
        {
            var check = await validator.ValidateAsync(users, new PortalUser { UserName = userName, Email = email }, password);
            errors.AddRange(check.Errors);
        }

        return (errors.Select(e => e.Description).ToArray(), PasswordRefusal.ForAudit(errors));
    }

    /// <summary>Creates the user with a password <see cref="PasswordProblemsAsync"/> found nothing against.</summary>
    public static Task<IdentityResult> CreateWithJudgedPasswordAsync(this UserManager<PortalUser> users, PortalUser user, string password)
    {
        user.PasswordHash = users.PasswordHasher.HashPassword(user, password);
        return users.CreateAsync(user);
    }
}
