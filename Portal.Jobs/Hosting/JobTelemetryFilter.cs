using System.Diagnostics;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.States;

namespace Portal.Jobs.Hosting;

/// <summary>
/// What the job server adds to telemetry: each job's wait from being enqueued to starting (its pick-up time), and a
/// span around its run, so the database queries and calls to other nodes a job makes belong to one trace.
/// </summary>
public sealed class JobTelemetryFilter : JobFilterAttribute, IElectStateFilter, IServerFilter
{
    private const string EnqueuedAt = "portal.enqueuedAt";
    private const string ActivityItem = "portal.activity";


    public void OnStateElection(ElectStateContext context)
    {
        if (context.CandidateState is EnqueuedState)
        {
            context.SetJobParameter(EnqueuedAt, DateTime.UtcNow);
        }
    }

    /// <summary>The queue a job is taken from: its own, else its method's or class's [Queue], as Hangfire chooses it.</summary>
    private static string QueueOf(Job job)
    {
        var attribute = job.Method.GetCustomAttributes(typeof(QueueAttribute), true).FirstOrDefault()
            ?? job.Type.GetCustomAttributes(typeof(QueueAttribute), true).FirstOrDefault();
        return job.Queue ?? (attribute as QueueAttribute)?.Queue ?? EnqueuedState.DefaultQueue;
    }

    public void OnPerforming(PerformingContext context)
    {
        var queue = QueueOf(context.BackgroundJob.Job);
        // A job enqueued when it was made (most) has no parameter of its own: Hangfire's client writes none during its
        // creation; one that waited (delayed, retried) was stamped when it was enqueued at last.
        var enqueuedAt = context.GetJobParameter<DateTime?>(EnqueuedAt, allowStale: true) ?? context.BackgroundJob.CreatedAt;
        PortalTelemetry.JobPickedUp(queue, DateTime.UtcNow - enqueuedAt);

        // A span of its own (not the child of whatever enqueued it): a move runs for minutes, long after the request.
        var activity = PortalTelemetry.Source.StartActivity($"job {context.BackgroundJob.Job.Type.Name}", ActivityKind.Internal, parentContext: default);
        if (activity is not null)
        {
            activity.SetTag("job.id", context.BackgroundJob.Id);
            activity.SetTag("job.queue", queue);
            context.Items[ActivityItem] = activity;
        }
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items.TryGetValue(ActivityItem, out var item) && item is Activity activity)
        {
            if (context.Exception is { } ex)
            {
                activity.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            }

            activity.Dispose();
        }
    }
}
