namespace Portal.Jobs.SelfCheck;

/// <summary>What the self-check measures on the node; <c>Portal</c> implements it over its own database.</summary>
public interface INodeProbe
{
    /// <summary>The folder that holds this node's mail (the partition the self-check measures).</summary>
    string MailRoot { get; }

    /// <summary>One database round trip (a trivial query on a pooled connection).</summary>
    Task PingDatabaseAsync(CancellationToken cancellationToken);
}
