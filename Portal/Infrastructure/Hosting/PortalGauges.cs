using System.Diagnostics.Metrics;
using Npgsql;

namespace Portal.Infrastructure.Hosting;

/// <summary>
/// Gauges read when metrics are collected: the jobs waiting in each queue (asked of Hangfire at most every 10 s) and
/// the state of each node's circuit (0 closed, 1 half-open, 2 open).
/// </summary>
public sealed class PortalGauges : IDisposable
{
    private static readonly TimeSpan QueueLengthLifetime = TimeSpan.FromSeconds(10);
    private readonly Meter _meter;
    private readonly Lock _gate = new();
    private (DateTimeOffset At, List<Measurement<long>> Values) _queues = (DateTimeOffset.MinValue, []);

    public PortalGauges(IMeterFactory meters, JobStorage storage, NodeCircuits circuits, TimeProvider clock, ILogger<PortalGauges> logger)
    {
        _meter = meters.Create(PortalTelemetry.Name);
        _meter.CreateObservableGauge("portal.jobs.enqueued", () => QueueLengths(storage, clock, logger), "{job}", "Jobs waiting in each queue of this node's job server.");
        _meter.CreateObservableGauge("portal.node.circuit_state", () => circuits.States.Select(c => new Measurement<int>(
            c.Value switch { NodeCircuitState.Closed => 0, NodeCircuitState.HalfOpen => 1, _ => 2 },
            new KeyValuePair<string, object?>("node", c.Key))), description: "State of the circuit of each node this node calls: 0 closed, 1 half-open (one trial call), 2 open (calls refused).");
    }

    private List<Measurement<long>> QueueLengths(JobStorage storage, TimeProvider clock, ILogger logger)
    {
        lock (_gate)
        {
            if (clock.GetUtcNow() - _queues.At < QueueLengthLifetime)
            {
                return _queues.Values;
            }

            try
            {
                var monitoring = storage.GetMonitoringApi();
                _queues = (clock.GetUtcNow(), JobQueues.All.Select(q => new Measurement<long>(monitoring.EnqueuedCount(q), new KeyValuePair<string, object?>("queue", q))).ToList());
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                logger.LogWarning("The job queues' lengths could not be read: {Error}", ex.Message);
            }

            return _queues.Values;
        }
    }

    public void Dispose() => _meter.Dispose();
}
