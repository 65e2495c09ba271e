using Microsoft.AspNetCore.Authorization;

namespace Portal.Infrastructure.Security;

public sealed class AdminTwoFactorRequirement : IAuthorizationRequirement;

/// <summary>
/// Portal:Security:RequireTwoFactorForAdmins, checked against the database on every admin page (pages opened inside a
/// live connection included, where no HTTP request passes <see cref="AdminTwoFactorGate"/>).
/// </summary>
internal sealed class AdminTwoFactorHandler(IOptions<PortalSettings> settings, IServiceScopeFactory scopes) : AuthorizationHandler<AdminTwoFactorRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, AdminTwoFactorRequirement requirement)
    {
        if (!settings.Value.Security.RequireTwoFactorForAdmins || await AdminTwoFactorGate.HasTwoFactorAsync(scopes, context.User))
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, "This node requires two-factor sign-in of its administrators."));
        }
    }
}
