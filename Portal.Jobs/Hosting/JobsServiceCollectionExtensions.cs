using Hangfire.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;

namespace Portal.Jobs.Hosting;

public static class JobsServiceCollectionExtensions
{
    /// <summary>
    /// Hangfire on the node's PostgreSQL database (its own schema) with a server in this process, and the job
    /// classes. Code enqueues through the injected <see cref="IBackgroundJobClient"/>, never Hangfire's static API,
    /// so that the storage is the one this host configured.
    /// </summary>
    public static IServiceCollection AddPortalJobs(this IServiceCollection services, string connectionString, JobsSettings settings, string serverName)
    {
        services.AddHangfire(configuration => configuration
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseTelemetryFilterOnce()
            .UsePostgreSqlStorage(
                options => options.UseNpgsqlConnection(connectionString),
                new PostgreSqlStorageOptions
                {
                    SchemaName = settings.Schema,
                    PrepareSchemaIfNecessary = true,
                    QueuePollInterval = settings.QueuePollInterval,
                    EnableLongPolling = true,
                    InvisibilityTimeout = settings.InvisibilityTimeout,
                    UseSlidingInvisibilityTimeout = true,
                }));

        // Before the job server: what a stopped process had fetched is handed back first.
        services.AddHostedService(sp => new InterruptedJobs(connectionString, settings, sp.GetRequiredService<ILogger<InterruptedJobs>>()));
        services.AddHangfireServer(options =>
        {
            options.ServerName = serverName;
            options.WorkerCount = settings.WorkerCount;
            options.Queues = JobQueues.All;
            options.ShutdownTimeout = settings.ShutdownTimeout;
            options.SchedulePollingInterval = settings.SchedulePollInterval;
        });

        services.AddTransient<NodeSelfCheckJob>();
        services.AddTransient<NodeHealthJob>();
        services.AddTransient<MailCopyJob>();
        services.AddTransient<MailReturnJob>();
        services.AddTransient<MailRelayJob>();
        services.AddTransient<AccountTransferJob>();
        services.AddTransient<MailArchiveJob>();
        services.AddTransient<ChildAccountDeletionJob>();
        services.AddTransient<Accounts.AccountTerminationJob>();
        services.AddTransient<BulkMoveJob>();
        services.AddNodeApiClients();
        return services;
    }

    /// <summary>Hangfire's filters are process-wide: a second host in one process (tests) must not count every job twice.</summary>
    private static IGlobalConfiguration UseTelemetryFilterOnce(this IGlobalConfiguration configuration) =>
        GlobalJobFilters.Filters.Any(f => f.Instance is JobTelemetryFilter) ? configuration : configuration.UseFilter(new JobTelemetryFilter());

    /// <summary>
    /// The HTTP clients for calling other nodes: time limits, a circuit per node and retries of safe calls
    /// (<see cref="NodeApiResilience"/>: a slow or broken node must not hang a page or a job), and a second client that
    /// skips certificate checks for links whose admin turned verification off.
    /// </summary>
    public static IServiceCollection AddNodeApiClients(this IServiceCollection services)
    {
        services.AddSingleton<NodeCircuits>();
        // The resilience pipeline keeps the time (per attempt); the client's own limit is only a backstop above it.
        services.AddHttpClient(NodeApiClientFactory.VerifyingClient, c => c.Timeout = TimeSpan.FromMinutes(5))
            .AddResilienceHandler(NodeApiResilience.PipelineName, NodeApiResilience.Configure)
            .SelectPipelineByAuthority();
        services.AddHttpClient(NodeApiClientFactory.NonVerifyingClient, c => c.Timeout = TimeSpan.FromMinutes(5))
            .ConfigurePrimaryHttpMessageHandler(() => new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
            })
            .AddResilienceHandler(NodeApiResilience.PipelineName + "-no-tls-verify", NodeApiResilience.Configure)
            .SelectPipelineByAuthority();
        // Mail copies stream for as long as the mail takes; a dead connection is caught by the socket's own timeouts.
        services.AddHttpClient(NodeApiClientFactory.TransferClient, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { ConnectTimeout = NodeApiResilience.ConnectTimeout });
        services.AddHttpClient(NodeApiClientFactory.NonVerifyingTransferClient, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                ConnectTimeout = NodeApiResilience.ConnectTimeout,
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            });
        services.AddSingleton<INodeApiClientFactory, NodeApiClientFactory>();
        return services;
    }
}
