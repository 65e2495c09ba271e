using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Portal.Jobs.Common;

/// <summary>
/// Portal's own metrics and trace source, recorded where the work happens (jobs, the proxy, sign-in) and exported by the
/// host (OpenTelemetry: a Prometheus scrape endpoint, OTLP when configured). Names follow OpenTelemetry's conventions;
/// Prometheus shows them with dots as underscores and units as suffixes (portal_moves_succeeded_total, ...).
/// Tags have few values: a move's kind, an outcome, a node's alias; never an account or a user.
/// </summary>
public static class PortalTelemetry
{
    public const string Name = "Portal";

    /// <summary>The kinds of operation that move an account's mail, the "kind" of every move metric.</summary>
    public static readonly IReadOnlySet<string> MoveKinds = new HashSet<string>(StringComparer.Ordinal)
    {
        MailCopyJob.Kind, MailReturnJob.Kind, MailRelayJob.Kind, AccountTransferJob.Kind,
    };

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    private static readonly UpDownCounter<long> MovesRunning =
        Meter.CreateUpDownCounter<long>("portal.moves.running", "{move}", "Moves of mail running on this node now.");

    private static readonly Counter<long> MovesSucceeded =
        Meter.CreateCounter<long>("portal.moves.succeeded", "{move}", "Moves of mail that ended well.");

    private static readonly Counter<long> MovesFailed =
        Meter.CreateCounter<long>("portal.moves.failed", "{move}", "Moves of mail that failed (before or after their switch).");

    private static readonly Histogram<double> MoveDuration =
        Meter.CreateHistogram("portal.moves.duration", "s", "How long moves took, from their first start to their end.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600] });

    private static readonly Counter<long> MessagesCopied =
        Meter.CreateCounter<long>("portal.moves.messages", "{message}", "Messages copied by moves (each arrived whole and verified by its hash).");

    private static readonly Counter<long> BytesCopied =
        Meter.CreateCounter<long>("portal.moves.copied", "By", "Bytes of mail copied by moves.");

    private static readonly Histogram<double> JobPickup =
        Meter.CreateHistogram("portal.jobs.pickup", "s", "Time from a job's enqueueing to a worker starting it.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60] });

    private static readonly Histogram<double> ProxyDuration =
        Meter.CreateHistogram("portal.proxy.duration", "s", "Calls the parent made to a child on a user's behalf, by node and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    private static readonly Counter<long> SignInFailures =
        Meter.CreateCounter<long>("portal.signin.failures", "{attempt}", "Refused sign-ins and API token checks, by method and reason.");

    public static void MoveStarted(string kind)
    {
        if (MoveKinds.Contains(kind))
        {
            MovesRunning.Add(1, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    public static void MoveStopped(string kind)
    {
        if (MoveKinds.Contains(kind))
        {
            MovesRunning.Add(-1, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    public static void MoveEnded(string kind, bool succeeded, TimeSpan duration)
    {
        if (!MoveKinds.Contains(kind))
        {
            return;
        }

        var tag = new KeyValuePair<string, object?>("kind", kind);
        (succeeded ? MovesSucceeded : MovesFailed).Add(1, tag);
        MoveDuration.Record(duration.TotalSeconds, tag, new KeyValuePair<string, object?>("outcome", succeeded ? "succeeded" : "failed"));
    }

    public static void MailCopied(string kind, long messages, long bytes)
    {
        var tag = new KeyValuePair<string, object?>("kind", kind);
        MessagesCopied.Add(messages, tag);
        BytesCopied.Add(bytes, tag);
    }

    public static void JobPickedUp(string queue, TimeSpan wait) =>
        JobPickup.Record(Math.Max(0, wait.TotalSeconds), new KeyValuePair<string, object?>("queue", queue));

    public static void ProxyCall(string node, string outcome, TimeSpan duration) =>
        ProxyDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("node", node), new KeyValuePair<string, object?>("outcome", outcome));

    public static void SignInFailed(string method, string reason) =>
        SignInFailures.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("reason", reason));
}
