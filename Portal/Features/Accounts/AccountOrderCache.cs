using System.Collections.Concurrent;

namespace Portal.Features.Accounts;

/// <summary>
/// Deep pages of the accounts grid. PostgreSQL reaches row 50,000 of an order only by walking 50,000 index entries
/// (~40 ms at 100,000 accounts on a small machine), so for pages past <see cref="DeepPageThreshold"/> the grid reads the
/// whole order's ids once (one index-only scan) and slices pages from it. The rows themselves are always read fresh;
/// an order is dropped as soon as an account is created, changed or removed on this node, and after a minute at
/// most (changes made by another process).
/// </summary>
public sealed class AccountOrderCache(TimeProvider clock)
{
    public const int DeepPageThreshold = 2_000;
    private const int Capacity = 16;
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, Entry> _orders = new();
    private long _version;

    private sealed record Entry(long Version, DateTimeOffset BuiltAt, long[] Ids);

    /// <summary>Called by every write to accounts on this node.</summary>
    public void Invalidate() => Interlocked.Increment(ref _version);

    public async Task<long[]> GetAsync(string key, Func<Task<long[]>> build)
    {
        var version = Interlocked.Read(ref _version);
        var now = clock.GetUtcNow();
        if (_orders.TryGetValue(key, out var entry) && entry.Version == version && now - entry.BuiltAt < MaxAge)
        {
            return entry.Ids;
        }

        var ids = await build();
        _orders[key] = new Entry(version, now, ids);
        if (_orders.Count > Capacity)
        {
            foreach (var stale in _orders.OrderBy(e => e.Value.BuiltAt).Take(_orders.Count - Capacity))
            {
                _orders.TryRemove(stale.Key, out _);
            }
        }

        return ids;
    }
}
