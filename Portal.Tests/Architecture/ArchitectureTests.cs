using System.Reflection;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;

namespace Portal.Tests.Architecture;

public sealed class ArchitectureTests
{
    private static readonly Assembly Web = typeof(Program).Assembly;
    private static readonly Assembly Jobs = typeof(Portal.Jobs.Operations.IOperationJournal).Assembly;

    /// <summary>Pages anyone may open (signing in, errors, the API reference).</summary>
    // The second sign-in step is reached before there is a session (Identity's two-factor cookie says who).
    private static readonly string[] PublicRoutes = ["/auth/signin", "/auth/two-factor", "/auth/lockout", "/auth/denied", "/error", "/error/{StatusCode:int}", "/not-found", "/api-reference"];

    /// <summary>Pages for every signed-in user, whatever their role: they must still require a sign-in.</summary>
    private static readonly string[] SignedInRoutes = ["/auth/two-factor/manage"];

    [Fact]
    public void Jobs_DoNotDependOnTheWebHost() =>
        Assert.DoesNotContain(Jobs.GetReferencedAssemblies(), a => a.Name == Web.GetName().Name);

    [Fact]
    public void Jobs_AreALibraryOfTheGenericHost_NotOfAspNetCore() =>
        Assert.DoesNotContain(Jobs.GetReferencedAssemblies(), a => a.Name!.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));

    [Fact]
    public void EveryPage_InAnArea_RequiresThatAreasPolicy()
    {
        var problems = new List<string>();
        foreach (var (page, route) in Pages())
        {
            var area = PortalPolicies.AreaOf(route);
            var policies = page.GetCustomAttributes<AuthorizeAttribute>(inherit: true).Select(a => a.Policy).ToList();
            if (area is { } a && !policies.Contains(a.Policy))
            {
                problems.Add($"{page.Name} ({route}) lacks [Authorize(Policy = {a.Policy})]");
            }
            else if (area is null && SignedInRoutes.Contains(route, StringComparer.OrdinalIgnoreCase))
            {
                if (page.GetCustomAttributes<AuthorizeAttribute>(inherit: true).FirstOrDefault() is null)
                {
                    problems.Add($"{page.Name} ({route}) is for signed-in users but lacks [Authorize]");
                }
            }
            else if (area is null && !PublicRoutes.Contains(route, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"{page.Name} ({route}) is outside every area; put it under /admin, /reseller or /account, or list it as public here");
            }
        }

        Assert.Empty(problems);
    }

    [Fact]
    public void AreaPages_LiveInTheirAreaFolder()
    {
        foreach (var (page, route) in Pages())
        {
            if (PortalPolicies.AreaOf(route) is { } area)
            {
                var folder = char.ToUpperInvariant(area.Prefix[1]) + area.Prefix[2..];
                Assert.Equal($"Portal.Areas.{folder}", page.Namespace);
            }
        }
    }

    private static IEnumerable<(Type Page, string Route)> Pages() =>
        from type in Web.GetTypes()
        where typeof(IComponent).IsAssignableFrom(type)
        from route in type.GetCustomAttributes<RouteAttribute>()
        select (type, route.Template);
}
