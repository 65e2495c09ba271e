using Bunit;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MudBlazor.Services;

namespace Portal.Tests.Components;

/// <summary>
/// A bUnit context with MudBlazor. MudBlazor registers services that are only IAsyncDisposable, so the context is
/// disposed asynchronously (xunit's IAsyncLifetime) rather than by the synchronous Dispose.
/// </summary>
public abstract class MudTestContext : BunitContext, IAsyncLifetime
{
    /// <summary>How long to wait for a render that follows database work; generous, as the suite runs on two busy cores.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    protected MudTestContext()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    // xunit calls this before IDisposable.Dispose, which then has nothing left to do.
    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await CleanUpAsync();
    }

    protected virtual Task CleanUpAsync() => Task.CompletedTask;
}

/// <summary>
/// A bUnit context with MudBlazor and the real feature services on a real (fresh) PostgreSQL database, acting as a
/// signed-in admin.
/// </summary>
public abstract class ComponentTestContext : MudTestContext
{
    protected string ConnectionString { get; private set; } = "";

    protected Actor Actor { get; set; } = PortalAppFixture.Admin;

    public override async Task InitializeAsync()
    {
        ConnectionString = await TestDatabases.CreateAsync(GetType().Name);
        Services.AddLogging();
        Services.AddSingleton(TimeProvider.System);
        Services.AddDbContextFactory<PortalDbContext>(o => o.UseNpgsql(ConnectionString, n => n.MigrationsHistoryTable("__ef_migrations_history")));
        Services.AddSingleton<OperationUpdates>();
        Services.AddSingleton<OperationQueries>();
        Services.AddSingleton(_ => ThemeCatalog.LoadFrom(Path.Combine(TestEnvironment.RepositoryRoot, "wwwroot-themes")));
        Services.AddSingleton<ThemePreferences>();
        Services.AddScoped<ICurrentActor>(_ => new FixedActor(() => Actor));
        Services.AddSingleton<Features.Notifications.NotificationUpdates>();
        Services.AddSingleton<Features.Notifications.NotificationService>();
        Services.TryAddSingleton<AuditLog>();
        Services.AddSingleton<IBackgroundJobClient, UnusedJobClient>();
        Services.AddSingleton<OperationControl>();
        Services.TryAddSingleton<NodeIdentityService>();
        Services.AddSingleton<PasswordPolicyService>();
        Services.TryAddSingleton<ApiTokenService>();
        Services.AddSingleton<OwnPasswordService>();
    }

    protected override Task CleanUpAsync() => TestDatabases.DropAsync(ConnectionString);

    protected PortalDbContext OpenDb() => TestDatabases.OpenContext(ConnectionString);

    /// <summary>The account and node services with their real dependencies (no other node is called by these tests).</summary>
    protected void AddAccountServices()
    {
        Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new PortalSettings { NodeName = "bunit", MailRoot = "/tmp/bunit-mail", AllowInsecureHttp = true }));
        Services.AddDataProtection();
        Services.AddSingleton<NodeUpdates>();
        Services.AddSingleton<NodeIdentityService>();
        Services.AddSingleton<NodeLinkService>();
        Services.AddNodeApiClients();
        Services.AddSingleton<DnsZoneService>();
        Services.AddSingleton<DnsPublisher>();
        Services.AddSingleton<DomainRules>();
        Services.AddSingleton(new MailServerAdapterSettings { StateDirectory = Path.Combine(TestEnvironment.RunFolder, "bunit-mail-state-" + Guid.NewGuid().ToString("N")) });
        Services.AddSingleton<MailServerAdapter>();
        Services.AddSingleton<MailStatePublisher>();
        Services.AddSingleton<ApiTokenService>();
        Services.AddSingleton<AccountService>();
        Services.AddSingleton<AccountQueries>();
        Services.AddSingleton<AccountOrderCache>();
        Services.AddSingleton<MailNodes>();
        Services.AddSingleton<PackageService>();
        Services.AddSingleton<ResellerLimits>();
    }

    /// <summary>Components here render; none of these tests starts a job, and one that tried would fail loudly.</summary>
    private sealed class UnusedJobClient : IBackgroundJobClient
    {
        public string Create(Job job, IState state) => throw new InvalidOperationException("A component test started a job.");

        public bool ChangeState(string jobId, IState state, string expectedState) => throw new InvalidOperationException("A component test changed a job.");
    }

    private sealed class FixedActor(Func<Actor> actor) : ICurrentActor
    {
        public Task<Actor> GetAsync() => Task.FromResult(actor());
    }
}
