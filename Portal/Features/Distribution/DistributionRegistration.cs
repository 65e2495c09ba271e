namespace Portal.Features.Distribution;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class DistributionRegistration
{
    /// <summary>Moving accounts' mail between nodes: the checks, the steps of each kind of move, bulk moves, and the deletion of copies left on children.</summary>
    public static IServiceCollection AddDistribution(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var distribution = sp.GetRequiredService<IOptions<PortalSettings>>().Value.Distribution;
            return new MailMoveSettings
            {
                BatchBytes = distribution.BatchMegabytes * 1024L * 1024,
                BatchFiles = distribution.BatchFiles,
                RetryWindow = distribution.RetryWindow,
                MovesPerNode = distribution.MovesPerNode,
            };
        });
        services.AddSingleton<NodeMoveSlots>();
        services.AddSingleton<MoveChecks>();
        services.AddSingleton<IMailMoveSteps, MailMoveSteps>();
        services.AddSingleton<IMailReturnSteps, MailReturnSteps>();
        services.AddSingleton<IMailRelaySteps, MailRelaySteps>();
        services.AddSingleton<IMailArchiveSource, MailArchiveSource>();
        services.AddSingleton<BulkMoves>();
        services.AddSingleton<IBulkMoveSteps>(sp => sp.GetRequiredService<BulkMoves>());
        services.AddSingleton<MoveNotifier>();
        services.AddSingleton<ChildDeletionService>();
        services.AddSingleton<IChildAccountDeletions>(sp => sp.GetRequiredService<ChildDeletionService>());
        services.AddSingleton<DistributionService>();
        return services;
    }
}
