namespace Portal.Infrastructure.Security;

/// <summary>
/// What Portal's rules answer instead of doing what was asked: the message says what is wrong and what to do, the code
/// is stable for API clients (for example <c>account.suspended</c>), and the status is what the API answers. Pages
/// catch this one type and show the message; <see cref="ApiExceptionFilter"/> turns it into the API's error.
/// </summary>
public abstract class PortalException(string message, string code, int status, IReadOnlyList<string>? problems = null) : Exception(message)
{
    /// <summary>A stable code for API clients.</summary>
    public string Code { get; } = code;

    /// <summary>The HTTP status the API answers with.</summary>
    public int Status { get; } = status;

    /// <summary>Each thing that is wrong, for a form to list (the message alone when there is one).</summary>
    public IReadOnlyList<string> Problems { get; } = problems ?? [message];

    /// <summary>Whether Portal refused (its rules, the actor's rights, what exists), not another node that failed to answer.</summary>
    public virtual bool IsRefusal => true;
}

/// <summary>The actor may not do this. Pages show the message; APIs answer 403 with it.</summary>
public sealed class PortalForbiddenException(string message, string code = "forbidden")
    : PortalException(message, code, StatusCodes.Status403Forbidden);

/// <summary>
/// A request the rules refuse (bad input). The message says what is wrong and what to do; pages show it beside the
/// form, APIs answer 400 with it.
/// </summary>
public sealed class PortalValidationException(string message, IReadOnlyList<string>? problems = null, string code = "validation")
    : PortalException(message, code, StatusCodes.Status400BadRequest, problems)
{
    /// <summary>What the audit log keeps instead of the message, when the message shows something it must not (parts of a password).</summary>
    public string? AuditText { get; init; }
}

/// <summary>The thing asked for does not exist (or is not the actor's to see). APIs answer 404.</summary>
public sealed class PortalNotFoundException(string message) : PortalException(message, "not_found", StatusCodes.Status404NotFound);

/// <summary>
/// The request conflicts with the current state (a node already linked, an account in use...). APIs answer 409.
/// </summary>
public sealed class PortalConflictException(string message, IReadOnlyList<string>? problems = null, string code = "conflict")
    : PortalException(message, code, StatusCodes.Status409Conflict, problems);

/// <summary>
/// Another node this request depends on failed (502) or did not answer in time (504). The message names the node
/// and says what to do; the request may be tried again.
/// </summary>
public sealed class PortalUpstreamException(string message, bool timedOut, string code = "node.unavailable")
    : PortalException(message, code, timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway)
{
    public bool TimedOut { get; } = timedOut;

    public override bool IsRefusal => false;
}
