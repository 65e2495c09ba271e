namespace Portal.Features.Passwords;

/// <summary>
/// What the audit log says of a refused password. The person is shown which parts of their password are guessable (a
/// word, a date, their own name); the audit log, which admins and a database dump can read, keeps only that it was
/// refused and under which rule.
/// </summary>
public static class PasswordRefusal
{
    public static string TooWeak(string node, string what, int required) =>
        $"The password was refused: too weak for the rule of node {node} for {what} (at least {required} required).";

    /// <summary>An Identity validation's errors as the audit keeps them: the node's strength rule's own text left out.</summary>
    public static IReadOnlyList<string> ForAudit(IEnumerable<IdentityError> errors) =>
        errors.Select(e => e.Code == PolicyPasswordValidator.Code ? "The password was refused: too weak for this node's rule for panel sign-ins." : e.Description).ToArray();
}
