namespace Portal.Features.ApiTokens;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class ApiTokensRegistration
{
    /// <summary>API tokens: the public API's and the linked nodes'.</summary>
    public static IServiceCollection AddApiTokens(this IServiceCollection services)
    {
        services.AddSingleton<ApiTokenService>();
        return services;
    }
}
