namespace Portal.Features.Accounts;

/// <summary>
/// What an account needs for its mail to live on a child node: IPv6 off (the child serves the account's mail names on
/// the IPv4 address it reported) and the API Tokens feature (the parent calls the child with it on the owner's behalf).
/// One rule in one wording for every place that asks: the account form as one types, an account's creation and change,
/// a package, and a move's preflight.
/// </summary>
public static class MailOnAChild
{
    public const string Ipv6Problem = "An account whose mail lives on a child node cannot have IPv6 enabled; turn IPv6 off, or keep its mail local.";

    public const string ApiTokensProblem = "An account whose mail lives on a child node needs the \"API Tokens\" feature (the parent calls the child for it); turn it on, or keep its mail local.";

    /// <summary>What keeps an account with these settings from having its mail on a child; empty when nothing does.</summary>
    public static IReadOnlyList<string> Problems(bool ipv6, IEnumerable<string> features)
    {
        var problems = new List<string>();
        if (ipv6)
        {
            problems.Add(Ipv6Problem);
        }

        if (!features.Contains(AccountFeatures.ApiTokens))
        {
            problems.Add(ApiTokensProblem);
        }

        return problems;
    }

    public static IReadOnlyList<string> Problems(Account account) => Problems(account.Ipv6Enabled, account.Features);
}
