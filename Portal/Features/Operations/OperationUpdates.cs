using System.Collections.Concurrent;

namespace Portal.Features.Operations;

/// <summary>
/// Carries operation changes from the job that writes them to every circuit that shows them, in this process.
/// Components subscribe, re-render with <c>InvokeAsync(StateHasChanged)</c>, and dispose the subscription; the
/// browser never polls. Writers already coalesce (see <see cref="OperationJournal"/>), so each publish is one
/// re-render at most.
/// </summary>
public sealed class OperationUpdates(ILogger<OperationUpdates> logger)
{
    private readonly ConcurrentDictionary<long, Func<OperationSnapshot, Task>> _subscribers = new();
    private long _nextId;

    public IDisposable Subscribe(Func<OperationSnapshot, Task> onUpdate)
    {
        var id = Interlocked.Increment(ref _nextId);
        _subscribers[id] = onUpdate;
        return new Subscription(this, id);
    }

    public int SubscriberCount => _subscribers.Count;

    public void Publish(OperationSnapshot snapshot)
    {
        foreach (var (id, handler) in _subscribers)
        {
            _ = Deliver(id, handler, snapshot);
        }
    }

    private async Task Deliver(long id, Func<OperationSnapshot, Task> handler, OperationSnapshot snapshot)
    {
        try
        {
            await handler(snapshot);
        }
        catch (Exception ex)
        {
            // A circuit that went away must not break the job that published; drop only that subscriber.
            logger.LogDebug(ex, "Dropping operation subscriber {SubscriberId} after a failed update", id);
            _subscribers.TryRemove(id, out _);
        }
    }

    private sealed class Subscription(OperationUpdates owner, long id) : IDisposable
    {
        public void Dispose() => owner._subscribers.TryRemove(id, out _);
    }
}
