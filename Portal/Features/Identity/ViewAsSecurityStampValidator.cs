namespace Portal.Features.Identity;

/// <summary>
/// Identity's cookie check (each minute), which also ends a view-as session its admin may no longer hold, and keeps
/// the view-as claims when it renews the cookie (Identity would build the principal anew without them).
/// </summary>
public sealed class ViewAsSecurityStampValidator(
    IOptions<SecurityStampValidatorOptions> options,
    SignInManager<PortalUser> signInManager,
    ILoggerFactory logger,
    TimeProvider clock)
    : SecurityStampValidator<PortalUser>(options, signInManager, logger)
{
    protected override async Task<PortalUser?> VerifySecurityStamp(ClaimsPrincipal? principal)
    {
        var user = await base.VerifySecurityStamp(principal);
        return user is not null && principal is not null && !await ViewAs.StillAllowedAsync(SignInManager.UserManager, principal, clock.GetUtcNow())
            ? null
            : user;
    }
}
