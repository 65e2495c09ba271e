namespace Portal.Jobs.Nodes;

/// <summary>A call to another node did not succeed; the message says why and what to do.</summary>
public abstract class NodeApiException(string message, Exception? inner = null) : Exception(message, inner)
{
    public abstract string Code { get; }
}

/// <summary>The node could not be reached (DNS, connection, TLS, timeout).</summary>
public class NodeUnreachableException(string message, Exception? inner = null, bool timedOut = false) : NodeApiException(message, inner)
{
    public override string Code => "node.unreachable";

    /// <summary>The node took the connection but did not answer in time.</summary>
    public bool TimedOut => timedOut;
}

/// <summary>
/// The node failed several times in a row and its circuit is open: the call was not even tried, and will be again
/// after <see cref="RetryAfter"/>.
/// </summary>
public sealed class NodeCircuitOpenException(string message, TimeSpan? retryAfter, Exception inner) : NodeUnreachableException(message, inner)
{
    public override string Code => "node.circuit_open";

    public TimeSpan? RetryAfter => retryAfter;
}

/// <summary>The node refused the credentials (token invalid, expired, revoked, or not an admin's).</summary>
public sealed class NodeAuthenticationException(string code, string message) : NodeApiException(message)
{
    public override string Code => code;
}

/// <summary>The node answered with an error of its own.</summary>
public sealed class NodeRequestException(int status, string code, string message) : NodeApiException(message)
{
    public int Status => status;

    public override string Code => code;
}
