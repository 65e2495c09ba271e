using Microsoft.AspNetCore.Authorization;

namespace Portal.Infrastructure.Security;

public sealed class NotOnChildNodeRequirement : IAuthorizationRequirement;

internal sealed class NotOnChildNodeHandler(NodeIdentityService identity) : AuthorizationHandler<NotOnChildNodeRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, NotOnChildNodeRequirement requirement)
    {
        if (!(await identity.GetAsync()).IsChild)
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, "This node is a child node; use the parent."));
        }
    }
}
