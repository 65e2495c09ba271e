namespace Portal.Jobs.Nodes;

public interface INodeApiClientFactory
{
    /// <summary>A client for the node's API; each request may take <paramref name="timeout"/> (default 15 s).</summary>
    NodeApiClient Create(NodeEndpoint endpoint, TimeSpan? timeout = null);

    /// <summary>A client for moving mail: long transfers, so no overall time limit (an idle connection still fails).</summary>
    NodeApiClient CreateForTransfer(NodeEndpoint endpoint);
}

/// <summary>Builds clients from the shared handlers: one that verifies TLS certificates and one that does not.</summary>
public sealed class NodeApiClientFactory(IHttpClientFactory httpClients) : INodeApiClientFactory
{
    public const string VerifyingClient = "node-api";
    public const string NonVerifyingClient = "node-api-no-tls-verify";

    public const string TransferClient = "node-api-transfer";
    public const string NonVerifyingTransferClient = "node-api-transfer-no-tls-verify";

    public NodeApiClient Create(NodeEndpoint endpoint, TimeSpan? timeout = null) =>
        new(httpClients.CreateClient(endpoint.VerifyTls ? VerifyingClient : NonVerifyingClient), endpoint, timeout);

    public NodeApiClient CreateForTransfer(NodeEndpoint endpoint) =>
        new(httpClients.CreateClient(endpoint.VerifyTls ? TransferClient : NonVerifyingTransferClient), endpoint);
}
