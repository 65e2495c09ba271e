namespace Portal.Components.Mail;

/// <summary>The rule for an account's email passwords, for the dialogs' strength meter.</summary>
internal static class EmailRule
{
    /// <summary>Null when the mail node cannot be asked now: the dialog then shows no meter, and the node still judges on submit.</summary>
    public static async Task<AccountPasswordRule?> FindAsync(AccountPasswordRules rules, Actor actor, string username)
    {
        try
        {
            return (await rules.ForAccountAsync(actor, username)).Single(r => r.Scope == PasswordScopes.Key(PasswordScope.Email));
        }
        catch (PortalException)
        {
            return null;
        }
    }
}
