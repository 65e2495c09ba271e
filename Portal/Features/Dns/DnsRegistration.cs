namespace Portal.Features.Dns;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class DnsRegistration
{
    /// <summary>Accounts' DNS zones, the rules on domains, and their publication to PowerDNS.</summary>
    public static IServiceCollection AddDns(this IServiceCollection services)
    {
        services.AddSingleton<DnsZoneService>();
        services.AddSingleton<DomainRules>();
        services.AddSingleton<DnsPublisher>();
        services.AddHttpClient(DnsPublisher.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(10));
        return services;
    }
}
