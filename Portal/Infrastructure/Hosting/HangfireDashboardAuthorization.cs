using Hangfire.Dashboard;

namespace Portal.Infrastructure.Hosting;

/// <summary>
/// The dashboard's own check, behind the endpoint's admin policy: Hangfire's default lets every local request in,
/// which behind a proxy (or in a test on loopback) is everyone.
/// </summary>
internal sealed class AdminOnlyDashboardFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context) => context.GetHttpContext().User.IsInRole(PortalRoles.Admin);
}
