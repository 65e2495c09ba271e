namespace Portal.Infrastructure.Api;

/// <summary>
/// The public HTTP API under <c>/api/v1</c>: bearer API tokens only, JSON errors with a stable code, and on a child
/// node no user-level calls. Each feature maps its own routes on the group.
/// </summary>
public static class PublicApi
{
    public static void MapPublicApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1")
            .RequireAuthorization(PortalPolicies.Api)
            .AddEndpointFilter<ApiExceptionFilter>()
            .AddEndpointFilter<ChildNodeApiFilter>()
            .WithApiErrors();

        api.MapGet("/me", async (ICurrentActor current) =>
        {
            var actor = await current.GetAsync();
            var roles = actor.Principal.FindAll(ClaimTypes.Role).Select(c => c.Value).ToArray();
            return new MeResponse(actor.Name, roles);
        });

        // Mail functions: owners, their resellers and admins (the service checks which account is whose).
        api.MapMailApi();
        api.MapPasswordsApi();

        var managers = api.MapGroup("").RequireAuthorization(PortalPolicies.ApiManage);
        managers.MapAccountsApi();
        managers.MapPackagesApi();

        var admin = api.MapGroup("").RequireAuthorization(PortalPolicies.ApiAdmin);
        admin.MapAccountsAdminApi();
        admin.MapPackagesAdminApi();
        admin.MapNodeAdminApi();
        admin.MapDistributionAdminApi();
        admin.MapApiTokenApi();
        admin.MapOperationsApi();
        admin.MapUsersApi();
        admin.MapPasswordsAdminApi();
        admin.MapMailAdminApi();
        admin.MapTlsAdminApi();
    }

    public sealed record MeResponse(string UserName, IReadOnlyList<string> Roles);
}
