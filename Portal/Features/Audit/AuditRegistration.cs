namespace Portal.Features.Audit;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class AuditRegistration
{
    /// <summary>The audit log: writing it, and the admin page's queries.</summary>
    public static IServiceCollection AddAudit(this IServiceCollection services)
    {
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AuditQueries>();
        return services;
    }
}
