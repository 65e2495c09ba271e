using System.Reflection;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Configuration;

namespace Portal.Tests.Architecture;

public sealed class ArchitectureTests
{
    private static readonly Assembly Web = typeof(Program).Assembly;
    private static readonly Assembly Jobs = typeof(IOperationJournal).Assembly;

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

    /// <summary>
    /// A newcomer looking for a service or a job opens the file of its name: every class of Portal's that the node's
    /// container builds, and every job, is declared in <c>TypeName.cs</c> (or a part of it, <c>TypeName.Part.cs</c>).
    /// Its records, interfaces and exceptions may stand beside it; another service may not.
    /// </summary>
    [Fact]
    public void EveryService_AndEveryJob_LivesInAFileOfItsName()
    {
        using var folder = new TempFolder("architecture-");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Portal"] = "Host=127.0.0.1;Database=unused;Username=unused",
            ["Portal:NodeName"] = "architecture",
            ["Portal:MailRoot"] = folder.Path,
        });
        builder.AddPortal();

        var registered = builder.Services
            .Select(d => (d.IsKeyedService ? d.KeyedImplementationType : d.ImplementationType) ?? d.ServiceType)
            .Where(t => t.IsClass);
        var jobs = Web.GetTypes().Concat(Jobs.GetTypes())
            .Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<Hangfire.QueueAttribute>() is not null));
        var types = registered.Concat(jobs)
            .Select(t => t.IsNested ? t.DeclaringType! : t)
            .Where(t => t.Assembly == Web || t.Assembly == Jobs)
            .Distinct()
            .ToList();
        Assert.Contains(typeof(AccountService), types);
        Assert.Contains(typeof(MailCopyJob), types);

        var files = new[] { "Portal", "Portal.Jobs" }
            .SelectMany(project => Directory.EnumerateFiles(Path.Combine(TestEnvironment.RepositoryRoot, project), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToLookup(f => Path.GetFileName(f).Split('.')[0]);
        var misplaced =
            from type in types
            let name = type.Name.Split('`')[0]
            where !files[name].Any(f => System.Text.RegularExpressions.Regex.IsMatch(File.ReadAllText(f), $@"\b(class|record) {name}\b"))
            select $"{type.FullName} is not declared in a file named {name}.cs";
        var problems = misplaced.ToList();
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>
    /// Pages and components are thin: they ask a feature's service, which holds the rules and the queries, and never
    /// open the database themselves (a rule read in a page is a rule a newcomer will not find in its feature's folder).
    /// </summary>
    [Fact]
    public void NoPageOrComponent_ReachesTheDatabase()
    {
        var database = new[] { typeof(PortalDbContext), typeof(IDbContextFactory<PortalDbContext>) };
        var offenders =
            from type in Web.GetTypes()
            where typeof(IComponent).IsAssignableFrom(type)
            from member in type.GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            where member.GetCustomAttribute<InjectAttribute>() is not null && database.Contains(member.PropertyType)
            select $"{type.FullName}.{member.Name}";
        Assert.Empty(offenders);
    }

    private static IEnumerable<(Type Page, string Route)> Pages() =>
        from type in Web.GetTypes()
        where typeof(IComponent).IsAssignableFrom(type)
        from route in type.GetCustomAttributes<RouteAttribute>()
        select (type, route.Template);
}
