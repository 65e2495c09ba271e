namespace Portal.Features.Nodes;

/// <summary>Linked nodes' changes (linked, unlinked, online, offline) for open browsers.</summary>
public sealed class NodeUpdates(ILogger<NodeUpdates> logger) : LiveUpdates<LinkedNodeChange>(logger);

public sealed record LinkedNodeChange(Guid NodeId, LinkedNodeRow? Node);
