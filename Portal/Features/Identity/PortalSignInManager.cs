using Microsoft.AspNetCore.Authentication;

namespace Portal.Features.Identity;

/// <summary>
/// A sign-in Identity refused for a reason of Portal's, after the password was found right (so a stranger without the
/// password learns nothing): the user works on another node, or their account is suspended.
/// </summary>
public sealed class RefusedSignIn : SignInResult
{
    public RefusedSignIn(string code, string message)
    {
        IsNotAllowed = true;
        Code = code;
        Message = message;
    }

    /// <summary>A stable code: <c>signin.not_admin_on_child</c>, <c>account.suspended</c>.</summary>
    public string Code { get; }

    /// <summary>What the person is told, saying what to do.</summary>
    public string Message { get; }
}

/// <summary>
/// Identity's sign-in, with Portal's rules between a right password and a session (or the second step, for a user
/// with two-factor sign-in): on a child node only its admins sign in; an account owner whose account is suspended does
/// not, and is told why. Every way in (password, authenticator code, recovery code) passes here, since Identity
/// calls this once the password is checked.
/// </summary>
public sealed class PortalSignInManager(
    UserManager<PortalUser> users,
    IHttpContextAccessor contextAccessor,
    IUserClaimsPrincipalFactory<PortalUser> claimsFactory,
    IOptions<IdentityOptions> options,
    ILogger<SignInManager<PortalUser>> logger,
    IAuthenticationSchemeProvider schemes,
    IUserConfirmation<PortalUser> confirmation,
    NodeIdentityService identity,
    IDbContextFactory<PortalDbContext> dbFactory)
    : SignInManager<PortalUser>(users, contextAccessor, claimsFactory, options, logger, schemes, confirmation)
{
    protected override async Task<SignInResult> SignInOrTwoFactorAsync(PortalUser user, bool isPersistent, string? loginProvider = null, bool bypassTwoFactor = false)
    {
        if (await RefusalAsync(user) is { } refused)
        {
            return refused;
        }

        return await base.SignInOrTwoFactorAsync(user, isPersistent, loginProvider, bypassTwoFactor);
    }

    /// <summary>Why this user may not have a session on this node although their password is right; null when they may.</summary>
    public async Task<RefusedSignIn?> RefusalAsync(PortalUser user, CancellationToken ct = default)
    {
        var roles = await UserManager.GetRolesAsync(user);
        if ((await identity.GetAsync(ct)).Parent is { } parent && !roles.Contains(PortalRoles.Admin))
        {
            return new RefusedSignIn("signin.not_admin_on_child",
                $"This is a child node: only its administrators sign in here. Sign in at the parent node, {parent.Name}" + (parent.Url.Length > 0 ? $" ({parent.Url})." : "."));
        }

        if (roles.Count == 1 && roles[0] == PortalRoles.User)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var account = await db.Accounts.AsNoTracking().Where(a => a.UserId == user.Id)
                .Select(a => new { a.Username, a.Status, a.SuspensionReason }).FirstOrDefaultAsync(ct);
            if (account is { Status: AccountStatus.Suspended })
            {
                return new RefusedSignIn("account.suspended", AccountSuspension.Explain(account.Username, account.SuspensionReason));
            }
        }

        return null;
    }
}
