namespace Portal.Features.SelfCheck;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class SelfCheckRegistration
{
    /// <summary>The node's self-check: starting it, and the probe its job runs.</summary>
    public static IServiceCollection AddSelfCheck(this IServiceCollection services)
    {
        services.AddScoped<SelfCheckService>();
        services.AddSingleton<INodeProbe, NodeProbe>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<PortalSettings>>().Value.SelfCheck);
        return services;
    }
}
