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
