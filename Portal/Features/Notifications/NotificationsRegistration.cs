namespace Portal.Features.Notifications;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class NotificationsRegistration
{
    /// <summary>The bell's notifications and their live updates.</summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services)
    {
        services.AddSingleton<NotificationUpdates>();
        services.AddSingleton<NotificationService>();
        return services;
    }
}
