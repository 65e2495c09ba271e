namespace Portal.Features.Tls;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class TlsRegistration
{
    /// <summary>AutoSSL and where its certificates go: the mail servers, the child that serves an account's mail, the panel.</summary>
    public static IServiceCollection AddTls(this IServiceCollection services)
    {
        services.AddSingleton<AcmeDnsChallengeZone>();
        services.AddSingleton<AutoSslService>();
        services.AddSingleton<MailCertificates>();
        services.AddSingleton<PanelCertificates>();
        services.AddSingleton<ICertificateInstaller>(sp => sp.GetRequiredService<MailCertificates>());
        services.AddTransient<AutoSslRunJob>();
        // The certificate authority over HTTPS, trusting the machine's roots, or only a test CA's (Pebble).
        services.AddHttpClient(AutoSslService.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(provider =>
                provider.GetRequiredService<IOptions<PortalSettings>>().Value.Tls.Acme.TrustedRootsFile is { Length: > 0 } roots
                    ? TlsTrust.HandlerTrusting(File.ReadAllText(roots))
                    : new SocketsHttpHandler());
        return services;
    }
}
