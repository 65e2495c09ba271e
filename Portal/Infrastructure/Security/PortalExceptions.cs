namespace Portal.Infrastructure.Security;

/// <summary>The actor may not do this. Pages show the message; APIs answer 403 with it.</summary>
public sealed class PortalForbiddenException(string message, string code = "forbidden") : Exception(message)
{
    /// <summary>A stable code for API clients (for example <c>account.suspended</c>).</summary>
    public string Code { get; } = code;
}

/// <summary>
/// A request the rules refuse (bad input, a conflict). The message says what is wrong and what to do; pages show it
/// beside the form, APIs answer 400/409 with it.
/// </summary>
public sealed class PortalValidationException(string message, IReadOnlyList<string>? problems = null, string code = "validation") : Exception(message)
{
    public IReadOnlyList<string> Problems { get; } = problems ?? [message];

    /// <summary>A stable code for API clients (for example <c>link.version_too_old</c>).</summary>
    public string Code { get; } = code;

    /// <summary>What the audit log keeps instead of the message, when the message shows something it must not (parts of a password).</summary>
    public string? AuditText { get; init; }
}

/// <summary>The thing asked for does not exist (or is not the actor's to see). APIs answer 404.</summary>
public sealed class PortalNotFoundException(string message) : Exception(message);

/// <summary>
/// The request conflicts with the current state (a node already linked, an account in use...). APIs answer 409.
/// </summary>
public sealed class PortalConflictException(string message, IReadOnlyList<string>? problems = null, string code = "conflict") : Exception(message)
{
    public IReadOnlyList<string> Problems { get; } = problems ?? [message];

    public string Code { get; } = code;
}

/// <summary>
/// Another node this request depends on failed (502) or did not answer in time (504). The message names the node
/// and says what to do; the request may be tried again.
/// </summary>
public sealed class PortalUpstreamException(string message, bool timedOut, string code = "node.unavailable") : Exception(message)
{
    public bool TimedOut { get; } = timedOut;

    public string Code { get; } = code;
}
