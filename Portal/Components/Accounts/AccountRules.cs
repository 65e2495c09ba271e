using System.ComponentModel.DataAnnotations;

namespace Portal.Components.Accounts;

/// <summary>
/// The account form's checks as the user types. The server checks the same (and more) again; these only spare a round
/// trip. Each returns null when the value is fine, or what to fix.
/// </summary>
public static class AccountRules
{
    public static string? Username(string? value) =>
        string.IsNullOrEmpty(value) ? "Give a user name."
        : AccountNames.IsValid(value) ? null
        : AccountNames.Rule + ".";

    public static string? Domain(string? value) =>
        string.IsNullOrWhiteSpace(value) ? "Give the account's primary domain."
        : DomainNames.TryNormalize(value, out _, out var problem) ? null : problem;

    public static string? ContactEmail(string? value) =>
        !string.IsNullOrWhiteSpace(value) && new EmailAddressAttribute().IsValid(value.Trim()) ? null : "Give an email address, like owner@example.com.";
}
