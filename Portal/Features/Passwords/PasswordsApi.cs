namespace Portal.Features.Passwords;

/// <summary>One scope of an account's passwords: the node whose rule governs it and the minimum strength there.</summary>
public sealed record AccountPasswordRule(string Scope, string Description, string Node, bool OnMailNode, int MinimumStrength);

/// <summary>
/// Which node's rule governs each kind of password of an account: for an account whose mail is on a child, the
/// child's for email accounts and mailing lists (asked of the child), this node's for the rest.
/// </summary>
public sealed class AccountPasswordRules(PasswordPolicyService policies, MailFunctions mail)
{
    public async Task<IReadOnlyList<AccountPasswordRule>> ForAccountAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var local = await policies.GetAsync(ct);
        var child = await mail.MailNodePasswordPolicyAsync(actor, username, ct);
        return PasswordScopes.All.Select(scope =>
        {
            var governing = child is not null && PasswordScopes.ServedByMailNode(scope) ? child : local;
            var rule = governing.Scopes.SingleOrDefault(r => r.Scope == PasswordScopes.Key(scope))
                ?? new PasswordScopeRule(PasswordScopes.Key(scope), PasswordScopes.Describe(scope), null, governing.DefaultStrength);
            return new AccountPasswordRule(rule.Scope, PasswordScopes.Describe(scope), governing.Node, governing != local, rule.MinimumStrength);
        }).ToArray();
    }
}

public static class PasswordsApi
{
    /// <summary>The public API: anyone signed in reads the rules and changes their own password; admins set the rules.</summary>
    public static void MapPasswordsApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/password-policy", async (PasswordPolicyService policies, CancellationToken ct) => await policies.GetAsync(ct));

        api.MapGet("/accounts/{username}/password-rules", async (string username, AccountPasswordRules rules, ICurrentActor actor, CancellationToken ct) =>
            await rules.ForAccountAsync(await actor.GetAsync(), username, ct));

        api.MapPut("/me/password", async (OwnPasswordChange change, OwnPasswordService passwords, ICurrentActor actor, CancellationToken ct) =>
        {
            await passwords.ChangeAsync(await actor.GetAsync(), change, ct);
            return Results.NoContent();
        });
    }

    public static void MapPasswordsAdminApi(this IEndpointRouteBuilder admin) =>
        admin.MapPut("/password-policy", async (PasswordPolicyChange change, PasswordPolicyService policies, ICurrentActor actor, CancellationToken ct) =>
            await policies.SaveAsync(await actor.GetAsync(), change, ct));

    /// <summary>The node API: a parent asks a child for its rules (to say which node's rule governs what).</summary>
    public static void MapPasswordsNodeApi(this IEndpointRouteBuilder api) =>
        api.MapGet("/password-policy", async (PasswordPolicyService policies, CancellationToken ct) => await policies.GetAsync(ct));
}
