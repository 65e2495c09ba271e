namespace Portal.Features.Alerts;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class AlertsRegistration
{
    /// <summary>Alerts for admins and their mail (the watcher that raises them starts after the database is migrated: AddPortal).</summary>
    public static IServiceCollection AddAlerts(this IServiceCollection services)
    {
        services.AddSingleton<AlertMailer>();
        services.AddSingleton<AlertService>();
        return services;
    }
}
