namespace Portal.Jobs.Nodes;

/// <summary>A call to another node did not succeed; the message says why and what to do.</summary>
public abstract class NodeApiException(string message, Exception? inner = null) : Exception(message, inner)
{
    public abstract string Code { get; }
}

/// <summary>The node could not be reached (DNS, connection, TLS, timeout).</summary>
public sealed class NodeUnreachableException(string message, Exception? inner = null) : NodeApiException(message, inner)
{
    public override string Code => "node.unreachable";
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
