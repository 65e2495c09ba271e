namespace Portal.Features.Passwords;

/// <summary>Registers this feature's services; <see cref="PortalServices.AddPortal"/> calls each feature's.</summary>
public static class PasswordsRegistration
{
    /// <summary>Password policies, one's own password, and the rules a form shows.</summary>
    public static IServiceCollection AddPasswords(this IServiceCollection services)
    {
        services.AddSingleton<PasswordPolicyService>();
        services.AddSingleton<OwnPasswordService>();
        services.AddSingleton<AccountPasswordRules>();
        return services;
    }
}
