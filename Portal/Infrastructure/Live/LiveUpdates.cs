using System.Collections.Concurrent;

namespace Portal.Infrastructure.Live;

/// <summary>
/// Carries changes from the code that makes them (a job, a service) to every circuit that shows them, in this
/// process. Components subscribe, re-render with <c>InvokeAsync(StateHasChanged)</c>, and dispose the
/// subscription; the browser never polls. A failing subscriber (a circuit that went away) is dropped and never
/// breaks the publisher.
/// </summary>
public class LiveUpdates<T>(ILogger logger)
{
    private readonly ConcurrentDictionary<long, Func<T, Task>> _subscribers = new();
    private long _nextId;

    public IDisposable Subscribe(Func<T, Task> onUpdate)
    {
        var id = Interlocked.Increment(ref _nextId);
        _subscribers[id] = onUpdate;
        return new Subscription(this, id);
    }

    public int SubscriberCount => _subscribers.Count;

    public void Publish(T update)
    {
        foreach (var (id, handler) in _subscribers)
        {
            _ = DeliverAsync(id, handler, update);
        }
    }

    private async Task DeliverAsync(long id, Func<T, Task> handler, T update)
    {
        try
        {
            await handler(update);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Dropping a {Kind} subscriber after a failed update", typeof(T).Name);
            _subscribers.TryRemove(id, out _);
        }
    }

    private sealed class Subscription(LiveUpdates<T> owner, long id) : IDisposable
    {
        public void Dispose() => owner._subscribers.TryRemove(id, out _);
    }
}
