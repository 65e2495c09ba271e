namespace Portal.Features.Operations;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class OperationsRegistration
{
    /// <summary>Long work as operations: their journal, live updates, control (pause, resume, retry, cancel) and queries.</summary>
    public static IServiceCollection AddOperations(this IServiceCollection services)
    {
        services.AddSingleton<OperationUpdates>();
        services.AddSingleton<IOperationJournal, OperationJournal>();
        services.AddSingleton<OperationLauncher>();
        services.AddSingleton<OperationQueries>();
        services.AddSingleton<OperationControl>();
        return services;
    }
}
