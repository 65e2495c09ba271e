namespace Portal.Features.Users;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class UsersRegistration
{
    /// <summary>Resellers and users as admins manage them, and two-factor sign-in.</summary>
    public static IServiceCollection AddUsers(this IServiceCollection services)
    {
        services.AddSingleton<UserAdminService>();
        services.AddScoped<TwoFactorService>();
        return services;
    }
}
