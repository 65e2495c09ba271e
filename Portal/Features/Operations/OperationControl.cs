using Hangfire;
using Microsoft.EntityFrameworkCore;
using Portal.Features.Audit;
using Portal.Infrastructure.Data;
using Portal.Infrastructure.Security;
using Portal.Jobs.Mail;
using Portal.Jobs.SelfCheck;

namespace Portal.Features.Operations;

/// <summary>An admin pauses, resumes or retries an operation; the job sees it at its next safe point.</summary>
public sealed class OperationControl(IDbContextFactory<PortalDbContext> dbFactory, IBackgroundJobClient jobs, OperationUpdates updates, AuditLog audit, TimeProvider clock)
{
    /// <summary>How each kind of operation is run again.</summary>
    private static readonly Dictionary<string, Func<IBackgroundJobClient, Guid, string>> Jobs = new()
    {
        [MailCopyJob.Kind] = (client, id) => client.Enqueue<MailCopyJob>(job => job.RunAsync(id, CancellationToken.None)),
        [MailReturnJob.Kind] = (client, id) => client.Enqueue<MailReturnJob>(job => job.RunAsync(id, CancellationToken.None)),
        [AccountTransferJob.Kind] = (client, id) => client.Enqueue<AccountTransferJob>(job => job.RunAsync(id, CancellationToken.None)),
        [MailRelayJob.Kind] = (client, id) => client.Enqueue<MailRelayJob>(job => job.RunAsync(id, CancellationToken.None)),
        [MailArchiveJob.Kind] = (client, id) => client.Enqueue<MailArchiveJob>(job => job.RunAsync(id, CancellationToken.None)),
        [NodeSelfCheckJob.Kind] = (client, id) => client.Enqueue<NodeSelfCheckJob>(job => job.RunAsync(id, CancellationToken.None)),
    };

    public Task PauseAsync(Actor actor, Guid id, CancellationToken ct = default) =>
        ChangeAsync(actor, id, "operation.pause", o =>
        {
            if (o.IsFinished)
            {
                throw new PortalConflictException("The operation has ended; there is nothing to pause.", code: "operation.finished");
            }

            o.PauseRequested = true;
        }, ct);

    public Task ResumeAsync(Actor actor, Guid id, CancellationToken ct = default) =>
        ChangeAsync(actor, id, "operation.resume", o => o.PauseRequested = false, ct);

    /// <summary>Runs a failed operation again from where it stopped (its finished steps stay finished).</summary>
    public Task RetryAsync(Actor actor, Guid id, CancellationToken ct = default) =>
        ChangeAsync(actor, id, "operation.retry", o =>
        {
            if (o.State != OperationState.Failed)
            {
                throw new PortalConflictException("Only a failed operation can be retried.", code: "operation.not_failed");
            }

            if (!Jobs.TryGetValue(o.Kind, out var enqueue))
            {
                throw new PortalConflictException($"Operations of kind {o.Kind} cannot be retried; start a new one.", code: "operation.not_retryable");
            }

            o.State = OperationState.Queued;
            o.Error = null;
            o.FinishedAt = null;
            o.PauseRequested = false;
            o.JobId = enqueue(jobs, o.Id);
        }, ct);

    private async Task ChangeAsync(Actor actor, Guid id, string action, Action<Operation> change, CancellationToken ct)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, action, id.ToString(), AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins control operations.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.SingleOrDefaultAsync(o => o.Id == id, ct)
            ?? throw new PortalNotFoundException("There is no such operation on this node.");
        try
        {
            change(operation);
        }
        catch (PortalConflictException ex)
        {
            await audit.RecordAsync(actor, action, operation.Title, AuditOutcome.Refused, ex.Message, ct);
            throw;
        }

        operation.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, action, operation.Title, AuditOutcome.Succeeded, $"Operation {id}", ct);
        var lastLogId = await db.OperationLog.Where(l => l.OperationId == id).MaxAsync(l => (long?)l.Id, ct) ?? 0;
        updates.Publish(OperationSnapshot.From(operation, lastLogId));
    }
}
