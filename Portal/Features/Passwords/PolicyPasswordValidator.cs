namespace Portal.Features.Passwords;

/// <summary>
/// Identity's check of panel sign-in passwords (new users, accounts, own changes): this node's rule for the
/// <see cref="PasswordScope.Account"/> scope, with the user's name and address counted as guessable.
/// </summary>
public sealed class PolicyPasswordValidator(PasswordPolicyService policies) : IPasswordValidator<PortalUser>
{
    public const string Code = "password.too_weak";

    public async Task<IdentityResult> ValidateAsync(UserManager<PortalUser> manager, PortalUser user, string? password)
    {
        var verdict = await policies.EvaluateAsync(PasswordScope.Account, password, [user.UserName, user.Email]);
        return verdict.Accepted ? IdentityResult.Success : IdentityResult.Failed(new IdentityError { Code = Code, Description = verdict.Problem! });
    }
}
