namespace Portal.Infrastructure.Security;

/// <summary>The actor may not do this. Pages show the message; APIs answer 403 with it.</summary>
public sealed class PortalForbiddenException(string message) : Exception(message);

/// <summary>
/// A request the rules refuse (bad input, a conflict). The message says what is wrong and what to do; pages show it
/// beside the form, APIs answer 400/409 with it.
/// </summary>
public sealed class PortalValidationException(string message, IReadOnlyList<string>? problems = null) : Exception(message)
{
    public IReadOnlyList<string> Problems { get; } = problems ?? [message];
}
