namespace Portal.Features.Packages;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class PackagesRegistration
{
    /// <summary>Packages (hosting plans) and resellers' limits.</summary>
    public static IServiceCollection AddPackages(this IServiceCollection services)
    {
        services.AddSingleton<PackageService>();
        services.AddSingleton<ResellerLimits>();
        return services;
    }
}
