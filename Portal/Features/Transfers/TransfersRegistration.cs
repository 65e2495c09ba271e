namespace Portal.Features.Transfers;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class TransfersRegistration
{
    /// <summary>Accounts transferred here from another parent, and this node as a transfer's source.</summary>
    public static IServiceCollection AddTransfers(this IServiceCollection services)
    {
        services.AddSingleton<TransferService>();
        services.AddSingleton<IAccountTransferSteps, AccountTransferSteps>();
        services.AddSingleton<MailSource>();
        return services;
    }
}
