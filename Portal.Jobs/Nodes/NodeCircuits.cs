using System.Collections.Concurrent;

namespace Portal.Jobs.Nodes;

public enum NodeCircuitState
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>The state of each node's circuit (by address), for metrics and the admin's view.</summary>
public sealed class NodeCircuits
{
    private readonly ConcurrentDictionary<string, NodeCircuitState> _states = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, NodeCircuitState> States => _states;

    internal ValueTask Set(string node, NodeCircuitState state)
    {
        _states[node] = state;
        return ValueTask.CompletedTask;
    }

    internal void Forget(string node) => _states.TryRemove(node, out _);
}
