namespace Portal.Features.Accounts;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class AccountsRegistration
{
    /// <summary>Accounts: creation, changes, queries, renames, termination, and the accounts a former parent left.</summary>
    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        services.AddSingleton<AccountService>();
        services.AddSingleton<AccountTwins>();
        services.AddSingleton<AccountQueries>();
        services.AddSingleton<AccountOrderCache>();
        services.AddSingleton<MailNodes>();
        services.AddSingleton<AccountTermination>();
        services.AddSingleton<IAccountTerminationSteps>(sp => sp.GetRequiredService<AccountTermination>());
        services.AddSingleton<FormerParentAccounts>();
        services.AddSingleton<AccountRenaming>();
        return services;
    }
}
