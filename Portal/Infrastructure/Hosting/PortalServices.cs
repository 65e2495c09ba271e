using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.DataProtection;
using MudBlazor.Services;
using Npgsql;
using Portal.Components.Identity;

namespace Portal.Infrastructure.Hosting;

public static class PortalServices
{
    public const string ConnectionStringName = "Portal";

    /// <summary>Registers everything a node runs: settings, data, identity, UI, jobs and the feature services.</summary>
    public static WebApplicationBuilder AddPortal(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;

        services.AddOptions<PortalSettings>().Bind(configuration.GetSection(PortalSettings.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PortalSettings>, PortalSettingsValidator>();

        // Read once here for what must be known while registering services; the validator reports every problem at start.
        var settings = configuration.GetSection(PortalSettings.Section).Get<PortalSettings>() ?? new PortalSettings();
        var connectionString = ReadConnectionString(configuration);

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString) { Name = "portal" }.Build());
        services.AddDbContextFactory<PortalDbContext>((sp, options) =>
            options.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>(), npgsql => npgsql.MigrationsHistoryTable("__ef_migrations_history")));

        // The keys are encrypted where they are stored, with a certificate kept outside the database (made on first start).
        var keyCertificate = KeyEncryptionCertificate.Load(settings.DataProtection.CertificateFileFor(settings.MailRoot));
        services.AddSingleton(keyCertificate);
        services.AddDataProtection()
            .SetApplicationName("portal")
            .PersistKeysToDbContext<PortalDbContext>()
            .ProtectKeysWithCertificate(keyCertificate.Certificate)
            .UnprotectKeysWithAnyCertificate(keyCertificate.Certificate);

        AddIdentity(services, settings);
        AddPanelTls(builder, settings.Tls);
        services.AddSignInThrottle();
        builder.AddPortalObservability(settings);
        services.AddPortalAccessLog();

        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddMudServices();
        services.AddHttpContextAccessor();
        services.AddScoped<CircuitClient>();
        services.AddScoped<CircuitHandler, CircuitClientHandler>();
        services.AddScoped<ICurrentActor, CurrentActor>();
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = $"portal.{settings.NodeName}.xsrf";
            options.Cookie.SecurePolicy = settings.AllowInsecureHttp ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
        });

        var themesPath = settings.ThemesPath ?? Path.Combine(AppContext.BaseDirectory, "themes");
        services.AddSingleton(_ => ThemeCatalog.LoadFrom(themesPath));
        services.AddSingleton<ThemePreferences>();

        // Each feature registers its own services (its folder's *Registration.cs).
        services.AddNodes().AddAccounts().AddPackages().AddDns().AddMail().AddTls().AddDistribution().AddTransfers()
            .AddPasswords().AddOperations().AddUsers().AddApiTokens().AddAudit().AddNotifications().AddAlerts().AddSelfCheck();
        services.AddSingleton<IAuthorizationHandler, NotOnChildNodeHandler>();
        services.AddSingleton<IAuthorizationHandler, AdminTwoFactorHandler>();
        services.AddSingleton<ApiRateLimits>();
        services.AddPortalApiDocument();

        // Runs before the job server (hosted services start in registration order), so jobs see a migrated database.
        services.AddHostedService<StartupTasks>();
        services.AddHostedService<AlertWatcher>();
        services.AddPortalJobs(connectionString, settings.Jobs, $"{settings.NodeName}:{Environment.ProcessId}");

        // The APIs speak JSON with enums as names, like the node API client; bad requests throw so that
        // ApiErrorMiddleware can answer them in the APIs' error shape.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: [HealthResponse.Ready])
            .AddCheck<JobStorageHealthCheck>("jobs", tags: [HealthResponse.Ready])
            .AddMailServerChecks(settings);

        return builder;
    }

    /// <summary>
    /// With <c>Portal:Tls</c> set, every https:// address the node listens on serves the panel's certificate (read again
    /// when its files change); the pipeline redirects plain HTTP to HTTPS (HSTS: <see cref="SecurityHeadersMiddleware"/>).
    /// </summary>
    private static void AddPanelTls(WebApplicationBuilder builder, TlsSettings tls)
    {
        if (!tls.Enabled)
        {
            return;
        }

        builder.Services.AddSingleton<PanelCertificate>();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
        {
            // The selector satisfies Kestrel's start-up check; each handshake is given the certificate with its chain.
            https.ServerCertificateSelector = (_, _) => kestrel.ApplicationServices.GetRequiredService<PanelCertificate>().Current;
            https.OnAuthenticate = (_, ssl) =>
            {
                ssl.ServerCertificateSelectionCallback = null;
                ssl.ServerCertificate = null;
                ssl.ServerCertificateContext = kestrel.ApplicationServices.GetRequiredService<PanelCertificate>().CurrentContext;
            };
        }));
    }

    private static string ReadConnectionString(IConfiguration configuration)
    {
        var value = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new PortalConfigurationException(
                $"ConnectionStrings:{ConnectionStringName} is not set. Set it in appsettings.json or in the environment variable " +
                $"ConnectionStrings__{ConnectionStringName}, for example \"Host=127.0.0.1;Port=5432;Database=portal;Username=portal;Password=...\". " +
                "`./portal demo` sets up a local PostgreSQL and does this for you.");
        }

        try
        {
            var parsed = new NpgsqlConnectionStringBuilder(value);
            if (string.IsNullOrWhiteSpace(parsed.Database))
            {
                throw new PortalConfigurationException($"ConnectionStrings:{ConnectionStringName} names no database; add Database=<name>.");
            }
        }
        catch (ArgumentException ex)
        {
            // Never echo the value: it usually holds a password.
            throw new PortalConfigurationException($"ConnectionStrings:{ConnectionStringName} is not a valid PostgreSQL connection string: {ex.Message}");
        }

        return value;
    }

    private static void AddIdentity(IServiceCollection services, PortalSettings settings)
    {
        services.AddCascadingAuthenticationState();
        services.AddScoped<AuthenticationStateProvider, IdentityRevalidatingAuthenticationStateProvider>();
        services.AddAuthentication(options =>
            {
                options.DefaultScheme = IdentityConstants.ApplicationScheme;
                options.DefaultSignInScheme = IdentityConstants.ExternalScheme;
            })
            .AddScheme<ApiTokenAuthenticationOptions, ApiTokenAuthenticationHandler>(ApiTokenAuthenticationHandler.NodeScheme, o => o.Kind = ApiTokenKind.Node)
            .AddScheme<ApiTokenAuthenticationOptions, ApiTokenAuthenticationHandler>(ApiTokenAuthenticationHandler.UserScheme, o => o.Kind = ApiTokenKind.User)
            .AddIdentityCookies();
        services.AddAuthorization(PortalPolicies.Add);

        services.AddIdentityCore<PortalUser>(options =>
            {
                options.SignIn.RequireConfirmedAccount = false;
                options.User.RequireUniqueEmail = false;
                options.Lockout.AllowedForNewUsers = true;
                options.Lockout.MaxFailedAccessAttempts = settings.Security.MaxFailedSignIns;
                options.Lockout.DefaultLockoutTimeSpan = settings.Security.LockoutDuration;
                // No character-class rules: the node's password policy (PolicyPasswordValidator) measures strength.
                options.Password.RequiredLength = 1;
                options.Password.RequireDigit = false;
                options.Password.RequireLowercase = false;
                options.Password.RequireUppercase = false;
                options.Password.RequireNonAlphanumeric = false;
                options.Password.RequiredUniqueChars = 1;
            })
            .AddRoles<IdentityRole>()
            .AddPasswordValidator<PolicyPasswordValidator>()
            .AddEntityFrameworkStores<PortalDbContext>()
            .AddSignInManager<PortalSignInManager>()
            .AddDefaultTokenProviders();

        services.ConfigureApplicationCookie(options =>
        {
            options.Cookie.Name = $"portal.{settings.NodeName}.session";
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = settings.AllowInsecureHttp ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
            options.LoginPath = "/auth/signin";
            options.LogoutPath = "/auth/signout";
            options.AccessDeniedPath = "/auth/denied";
            options.ExpireTimeSpan = TimeSpan.FromHours(8);
            options.SlidingExpiration = true;
            options.Events.OnRedirectToAccessDenied = context =>
            {
                // A signed-in user asking for another role's area gets a real 403, never a redirect that looks like success.
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            };
            options.Events.OnRedirectToLogin = context =>
            {
                if (IsApiPath(context.Request.Path))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return Task.CompletedTask;
                }

                context.Response.Redirect(context.RedirectUri);
                return Task.CompletedTask;
            };
        });
        services.ConfigureExternalCookie(options => options.Cookie.Name = $"portal.{settings.NodeName}.external");
        // The second step's cookies (who passed the password; a browser remembered for two-factor), named per node like
        // the session: two nodes on one host name (other ports) must not read each other's.
        foreach (var (scheme, suffix) in new[] { (IdentityConstants.TwoFactorUserIdScheme, "2fa"), (IdentityConstants.TwoFactorRememberMeScheme, "2fa-remember") })
        {
            services.Configure<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions>(scheme, options =>
            {
                options.Cookie.Name = $"portal.{settings.NodeName}.{suffix}";
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = settings.AllowInsecureHttp ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
            });
        }

        services.Configure<SecurityStampValidatorOptions>(options =>
        {
            options.ValidationInterval = TimeSpan.FromMinutes(1);
            options.OnRefreshingPrincipal = context =>
            {
                if (context.CurrentPrincipal is { } current && context.NewPrincipal is { } renewed)
                {
                    ViewAs.CarryOver(current, renewed);
                }

                return Task.CompletedTask;
            };
        });
        // Registered after Identity's own (AddSignInManager), so the cookie check resolves this one.
        services.AddScoped<ISecurityStampValidator, ViewAsSecurityStampValidator>();
    }

    internal static bool IsApiPath(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/node-api") || path.StartsWithSegments("/healthz")
        || path.StartsWithSegments(PortalObservability.MetricsPath);
}
