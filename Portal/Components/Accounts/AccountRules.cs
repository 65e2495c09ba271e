using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Portal.Features.Accounts;
using Portal.Features.Dns;

namespace Portal.Components.Accounts;

/// <summary>
/// The account form's checks as the user types. The server checks the same (and more) again; these only spare a round
/// trip. Each returns null when the value is fine, or what to fix.
/// </summary>
public static partial class AccountRules
{
    [GeneratedRegex("^[a-z][a-z0-9]{0,15}$")]
    private static partial Regex UsernamePattern();

    public static string? Username(string? value) =>
        string.IsNullOrEmpty(value) ? "Give a user name."
        : UsernamePattern().IsMatch(value) ? null
        : "1-16 lowercase letters and digits, starting with a letter.";

    public static string? Domain(string? value) =>
        string.IsNullOrWhiteSpace(value) ? "Give the account's primary domain."
        : DomainNames.TryNormalize(value, out _, out var problem) ? null : problem;

    public static string? ContactEmail(string? value) =>
        !string.IsNullOrWhiteSpace(value) && new EmailAddressAttribute().IsValid(value.Trim()) ? null : "Give an email address, like owner@example.com.";

    /// <summary>What keeps an account from having its mail on a child.</summary>
    public static IReadOnlyList<string> Distribution(bool distributed, bool ipv6, IEnumerable<string> features)
    {
        if (!distributed)
        {
            return [];
        }

        var problems = new List<string>();
        if (ipv6)
        {
            problems.Add("Mail on a child node and IPv6 do not go together: turn IPv6 off, or keep mail local.");
        }

        if (!features.Contains(AccountFeatures.ApiTokens))
        {
            problems.Add("Mail on a child node needs the API Tokens feature: turn it on, or keep mail local.");
        }

        return problems;
    }
}
