namespace Portal.Features.Mail;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class MailRegistration
{
    /// <summary>Accounts' mail (email accounts, forwarders, usage, sending limits) and the adapter to the real mail servers.</summary>
    public static IServiceCollection AddMail(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var portal = sp.GetRequiredService<IOptions<PortalSettings>>().Value;
            return new MailServerAdapterSettings
            {
                StateDirectory = portal.Mail.StateDirectoryFor(portal.MailRoot),
                Uid = portal.Mail.Uid,
                Gid = portal.Mail.Gid,
                Doveadm = portal.Mail.Doveadm,
                DovecotConfig = portal.Mail.DovecotConfig,
                Postmap = portal.Mail.Postmap,
                PostfixConfig = portal.Mail.PostfixConfig,
                Nginx = portal.Mail.Nginx,
                NginxConfig = portal.Mail.NginxConfig,
                CommandTimeout = portal.Mail.CommandTimeout,
                Sudo = portal.Mail.Sudo,
            };
        });
        services.AddSingleton<MailServerAdapter>();
        services.AddSingleton<MailStatePublisher>();
        services.AddSingleton<MailService>();
        services.AddSingleton<MailFunctions>();
        services.AddSingleton<MailUsageService>();
        services.AddSingleton<SendingLimits>();
        services.AddHostedService<SendingPolicyServer>();
        services.AddSingleton<TwinResolver>();
        services.AddSingleton(sp =>
        {
            var portal = sp.GetRequiredService<IOptions<PortalSettings>>().Value;
            var receiver = new MailReceiver(portal.MailRoot);
            receiver.CorruptNextFiles(portal.Development.CorruptReceivedMailFiles);
            return receiver;
        });
        return services;
    }
}
