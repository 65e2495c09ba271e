using System.Security.Claims;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Portal.Tests.Support;

/// <summary>
/// One Portal node hosted in the test process (WebApplicationFactory on a real PostgreSQL database, with its job
/// server). Hangfire keeps static state, so a test process holds one such node at a time: every test that uses it is
/// in <see cref="PortalAppCollection"/>. Tests that need several nodes run them as processes (<see cref="PortalNode"/>).
/// </summary>
public sealed class PortalAppFixture : IAsyncLifetime
{
    private PortalFactory? _factory;

    public string ConnectionString { get; private set; } = "";

    public string Folder { get; } = Path.Combine(TestEnvironment.RunFolder, "app-" + Guid.NewGuid().ToString("N")[..8]);

    public string AdminPassword => File.ReadAllText(Path.Combine(Folder, "admin-password")).Trim();

    public const string AdminUserName = "admin";

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("Not started.");

    public IServiceProvider Services => Factory.Services;

    /// <summary>An admin actor for calling services directly, as the UI would for a signed-in admin.</summary>
    public static Actor Admin { get; } = ActorFor("test-admin", PortalRoles.Admin);

    public static Actor ActorFor(string name, string role) =>
        new("id-" + name, name, "127.0.0.1", new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, "id-" + name), new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role)],
            "test")));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Folder);
        ConnectionString = await TestDatabases.CreateAsync("in-process node");
        _factory = new PortalFactory(ConnectionString, Folder);
        _ = _factory.Server; // starts the host: migrations, roles, first admin, job server
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await TestDatabases.DropAsync(ConnectionString);
    }

    /// <summary>A browser-like client: cookies kept, redirects not followed.</summary>
    public HttpClient CreateClient() =>
        Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    /// <summary>Creates a user of a role through the same service the admin UI uses; returns its credentials.</summary>
    public async Task<(string UserName, string Password)> CreateUserAsync(string role, string? prefix = null)
    {
        var name = $"{prefix ?? role.ToLowerInvariant()}{Guid.NewGuid():N}"[..16];
        var password = UserAdminService.GeneratePassword();
        if (role == PortalRoles.Admin)
        {
            throw new ArgumentException("Admins come from the bootstrap settings.", nameof(role));
        }

        await Services.GetRequiredService<UserAdminService>().CreateAsync(Admin, new NewUser(name, null, role, password));
        return (name, password);
    }

    private sealed class PortalFactory(string connectionString, string folder) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Production");
            builder.UseSetting("ConnectionStrings:Portal", connectionString);
            builder.UseSetting("Portal:NodeName", "inproc");
            builder.UseSetting("Portal:MailRoot", Path.Combine(folder, "mail"));
            builder.UseSetting("Portal:AllowInsecureHttp", "true");
            builder.UseSetting("Portal:Bootstrap:AdminUserName", AdminUserName);
            builder.UseSetting("Portal:Bootstrap:AdminPasswordFile", Path.Combine(folder, "admin-password"));
            builder.UseSetting("Portal:Jobs:QueuePollInterval", "00:00:01");
            builder.UseSetting("Portal:SelfCheck:DiskProbeBytes", (4 * 1024 * 1024).ToString());
            builder.UseSetting("Portal:Security:ApiRequestsPerMinutePerToken", "1000000");
            builder.UseSetting("Portal:Mail:WebmailUrl", "https://mail.example.net/?domain={domain}");
            // A certificate authority that never answers: AutoSSL's failures and their backoff.
            builder.UseSetting("Portal:Tls:Acme:DirectoryUrl", "https://127.0.0.1:9/directory");
            builder.UseSetting("Portal:Distribution:ProxyTimeout", "00:00:02");
            builder.UseSetting("Portal:Security:ApiRequestsPerMinutePerAddress", "1000000");
            builder.UseSetting("Portal:Security:SignInAttemptsPerMinutePerAddress", "100000");
            builder.UseSetting("Portal:Security:SignInAttemptsPerMinutePerUserName", "100000");
            // Every request checks its session against the database (the node does it once a minute), so a test sees at
            // once what a lock or an ended "view as" does to a session that is open.
            builder.ConfigureServices(services => services.Configure<Microsoft.AspNetCore.Identity.SecurityStampValidatorOptions>(o => o.ValidationInterval = TimeSpan.Zero));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PortalAppCollection : ICollectionFixture<PortalAppFixture>
{
    public const string Name = "One in-process node";
}
