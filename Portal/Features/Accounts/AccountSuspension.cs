namespace Portal.Features.Accounts;

/// <summary>
/// What suspending an account means, in one place: its owner cannot sign in, use API tokens or change mail, and is
/// told why; its mail keeps arriving (Portal:Mail:SuspendedAccountMail says whether it is kept or refused); only an
/// admin lifts a suspension an admin made.
/// </summary>
public static class AccountSuspension
{
    public const int MaxReasonLength = 300;

    public const string DefaultReason = "Suspended by your hosting provider.";

    /// <summary>The reason as kept: trimmed, one line, printable, at most <see cref="MaxReasonLength"/> characters; a problem otherwise.</summary>
    public static string? Reason(string? given, List<string> problems)
    {
        var reason = given?.Trim();
        if (string.IsNullOrEmpty(reason))
        {
            return null;
        }

        if (reason.Length > MaxReasonLength)
        {
            problems.Add($"The suspension reason is {reason.Length} characters long; give at most {MaxReasonLength}.");
        }

        if (reason.Any(char.IsControl))
        {
            problems.Add("The suspension reason must be one line of text (no line breaks or control characters).");
        }

        return reason;
    }

    /// <summary>A status as another node sends it: "Active" or "Suspended", nothing else (not "1", not "suspended ").</summary>
    public static AccountStatus ParseStatus(string? status, string from) =>
        status is nameof(AccountStatus.Active) ? AccountStatus.Active
        : status is nameof(AccountStatus.Suspended) ? AccountStatus.Suspended
        : throw new PortalValidationException($"{from} sent the account status \"{MailRules.Printable(status ?? "")}\"; only Active or Suspended is accepted.", code: "account.invalid_status");

    /// <summary>What an owner is told when the suspension stops them.</summary>
    public static string Explain(string username, string? reason) =>
        $"Your account {username} is suspended: {reason ?? DefaultReason} Contact your hosting provider.";

    /// <summary>The refusal an owner's action meets while the account is suspended.</summary>
    public static PortalForbiddenException Refusal(Account account) =>
        new(Explain(account.Username, account.SuspensionReason), "account.suspended");
}
