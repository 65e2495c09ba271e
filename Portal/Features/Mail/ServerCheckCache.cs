namespace Portal.Features.Mail;

/// <summary>
/// Each server is asked at most once per <see cref="Lifetime"/>, however often the health endpoint is polled (a load
/// balancer may ask every second, and asking Dovecot or Postfix starts a process); callers in the meantime share the
/// last answer, or the one being fetched. A check runs with the cancellation of the caller that started it (and the
/// process limits of <see cref="MailServerAdapter"/>); a caller whose own request is still wanted, when the check it waited
/// for was cancelled by another caller, asks once more itself.
/// </summary>
public sealed class ServerCheckCache(TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);
    private readonly Dictionary<string, (Task<(bool Up, string Detail)?> Check, DateTimeOffset At)> _last = new(StringComparer.Ordinal);

    public async Task<(bool Up, string Detail)?> GetAsync(string server, Func<CancellationToken, Task<(bool Up, string Detail)?>> check, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var shared = Shared(server, check, ct);
            try
            {
                return await shared.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested && attempt == 1)
            {
                // Cancelled by the caller that started it, not by ours: ask again.
            }
        }
    }

    private Task<(bool Up, string Detail)?> Shared(string server, Func<CancellationToken, Task<(bool Up, string Detail)?>> check, CancellationToken ct)
    {
        lock (_last)
        {
            var now = clock.GetUtcNow();
            if (_last.TryGetValue(server, out var last) && now - last.At < Lifetime && !last.Check.IsFaulted && !last.Check.IsCanceled)
            {
                return last.Check;
            }

            var fresh = check(ct);
            _last[server] = (fresh, now);
            return fresh;
        }
    }
}
