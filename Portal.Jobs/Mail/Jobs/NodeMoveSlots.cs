using System.Collections.Concurrent;

namespace Portal.Jobs.Mail;

/// <summary>
/// How many moves run with one linked node at once (<see cref="MailMoveSettings.MovesPerNode"/>): a thousand moves to
/// four children share the job workers between the children instead of all landing on the first one's disk. A move
/// takes a slot of each node it involves (both children of a child-to-child move, in a fixed order so two such moves
/// never hold one each) before its first step, says in its log when it waits, and gives the slots back when it ends.
/// One per process: a node is the only job server of its queues.
/// </summary>
public sealed class NodeMoveSlots(MailMoveSettings settings)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _nodes = new(StringComparer.Ordinal);

    /// <summary>How many moves hold a slot of this node now.</summary>
    public int Running(NodeEndpoint node) => _nodes.TryGetValue(Key(node), out var gate) ? settings.MovesPerNode - gate.CurrentCount : 0;

    public async Task<IAsyncDisposable> EnterAsync(IOperationRun run, CancellationToken ct, params (NodeEndpoint Node, string Alias)[] nodes)
    {
        var held = new List<SemaphoreSlim>();
        try
        {
            foreach (var (node, alias) in nodes.DistinctBy(n => Key(n.Node)).OrderBy(n => Key(n.Node), StringComparer.Ordinal))
            {
                var gate = _nodes.GetOrAdd(Key(node), _ => new SemaphoreSlim(settings.MovesPerNode, settings.MovesPerNode));
                if (!await gate.WaitAsync(0, ct))
                {
                    await run.LogAsync(OperationLogLevel.Info, $"Waiting: {settings.MovesPerNode} move(s) already run with {alias} (Portal:Distribution:MovesPerNode); this one starts when one of them ends.", ct);
                    await gate.WaitAsync(ct);
                }

                held.Add(gate);
            }

            return new Slots(held);
        }
        catch
        {
            held.ForEach(g => g.Release());
            throw;
        }
    }

    private static string Key(NodeEndpoint node) => node.BaseUrl.ToString();

    private sealed class Slots(List<SemaphoreSlim> held) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                held.ForEach(g => g.Release());
            }

            return ValueTask.CompletedTask;
        }
    }
}
