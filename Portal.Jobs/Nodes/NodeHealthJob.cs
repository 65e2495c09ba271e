namespace Portal.Jobs.Nodes;

/// <summary>A linked child as the parent's health check sees it.</summary>
public sealed record LinkedNodeEndpoint(Guid NodeId, string Alias, NodeEndpoint Endpoint);

public sealed record NodeHealthResult(bool Online, NodeHealthReport? Report, string? Error, DateTimeOffset CheckedAt);

/// <summary>The parent's list of children and where their health is recorded; implemented by <c>Portal</c>.</summary>
public interface INodeDirectory
{
    Task<IReadOnlyList<LinkedNodeEndpoint>> ListLinkedAsync(CancellationToken cancellationToken);

    Task RecordHealthAsync(Guid nodeId, NodeHealthResult result, CancellationToken cancellationToken);
}

/// <summary>
/// Asks every linked child how it is (every minute, and on demand): online with its version, profile and mail
/// partition, or offline with the reason. Children are checked side by side, so one slow child delays no other.
/// </summary>
public sealed class NodeHealthJob(INodeDirectory directory, INodeApiClientFactory clients, TimeProvider clock, ILogger<NodeHealthJob> logger)
{
    public const string RecurringId = "node-health";

    [AutomaticRetry(Attempts = 0)] // the next minute's run is the retry
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    [JobDisplayName("Check linked nodes")]
    public async Task CheckAllAsync(CancellationToken cancellationToken)
    {
        var nodes = await directory.ListLinkedAsync(cancellationToken);
        await Task.WhenAll(nodes.Select(n => CheckAsync(n, cancellationToken)));
    }

    public async Task<NodeHealthResult> CheckAsync(LinkedNodeEndpoint node, CancellationToken cancellationToken)
    {
        NodeHealthResult result;
        try
        {
            var report = await clients.Create(node.Endpoint).GetHealthAsync(cancellationToken);
            result = report.NodeId == node.NodeId
                ? new NodeHealthResult(true, report, null, clock.GetUtcNow())
                : new NodeHealthResult(false, null, $"Another node ({report.NodeId}) now answers at {node.Endpoint.BaseUrl}; relink the child if it was reinstalled.", clock.GetUtcNow());
        }
        catch (NodeApiException ex)
        {
            logger.LogWarning("Linked node {Alias} is offline: {Reason}", node.Alias, ex.Message);
            result = new NodeHealthResult(false, null, ex.Message, clock.GetUtcNow());
        }

        await directory.RecordHealthAsync(node.NodeId, result, cancellationToken);
        return result;
    }
}
