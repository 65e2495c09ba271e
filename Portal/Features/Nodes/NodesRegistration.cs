namespace Portal.Features.Nodes;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class NodesRegistration
{
    /// <summary>This node's identity, its links to other nodes, and their health.</summary>
    public static IServiceCollection AddNodes(this IServiceCollection services)
    {
        services.AddSingleton<NodeUpdates>();
        services.AddSingleton<NodeIdentityService>();
        services.AddSingleton<NodeLinkService>();
        services.AddSingleton<NodeDirectory>();
        services.AddSingleton<INodeDirectory>(sp => sp.GetRequiredService<NodeDirectory>());
        services.AddSingleton<NodeHealthService>();
        return services;
    }
}
