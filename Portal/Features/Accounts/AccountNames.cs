using System.Text.RegularExpressions;

namespace Portal.Features.Accounts;

/// <summary>
/// An account's user name (also its owner's sign-in and, on a child, its twin's name): 1-16 lowercase letters and
/// digits, starting with a letter. The form, a creation, a rename and a twin from the parent all ask here.
/// </summary>
public static partial class AccountNames
{
    public const int MaxLength = 16;

    public const string Rule = "1-16 lowercase letters and digits, starting with a letter";

    [GeneratedRegex("^[a-z][a-z0-9]{0,15}$")]
    private static partial Regex Pattern();

    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);
}
