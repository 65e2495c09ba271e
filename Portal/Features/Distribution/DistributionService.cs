using Hangfire;
using Microsoft.EntityFrameworkCore;
using Portal.Features.Accounts;
using Portal.Features.Audit;
using Portal.Features.Operations;
using Portal.Infrastructure.Data;
using Portal.Infrastructure.Security;
using Portal.Jobs.Mail;
using Portal.Jobs.Operations;

namespace Portal.Features.Distribution;

/// <summary>
/// Starts moves of an account's mail between nodes (admins only): one move per account at a time, and nothing starts
/// unless the preflight passes. The move itself is a job (<see cref="MailCopyJob"/>).
/// </summary>
public sealed class DistributionService(
    IDbContextFactory<PortalDbContext> dbFactory,
    MoveChecks checks,
    OperationLauncher launcher,
    IBackgroundJobClient jobs,
    AuditLog audit)
{
    /// <summary>The kinds of operation that move an account's mail; one of them per account at a time.</summary>
    public static readonly IReadOnlyList<string> MoveKinds = [MailCopyJob.Kind];

    public async Task<Guid> MoveMailAsync(Actor actor, string username, Guid nodeId, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "account.move-mail", username, AuditOutcome.Refused, "Not an admin.", cancellationToken);
            throw new PortalForbiddenException("Only admins move an account's mail.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Two admins clicking at once: the second waits here, then sees the first's move.
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({"move:" + username}))", cancellationToken);
        var account = await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.Username == username, cancellationToken)
            ?? throw new PortalNotFoundException($"There is no account \"{username}\" on this node.");
        if (await RunningMoveAsync(db, username, cancellationToken) is { } running)
        {
            var message = $"A move of {username}'s mail is already under way; follow it at /admin/operations/{running}.";
            await audit.RecordAsync(actor, "account.move-mail", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalConflictException(message, code: "move.in_progress");
        }

        var node = await db.LinkedNodes.AsNoTracking().SingleOrDefaultAsync(n => n.Id == nodeId, cancellationToken);
        var preflight = await checks.CheckAsync(account, node, cancellationToken);
        if (preflight.Problems.Count > 0)
        {
            var message = $"The mail of {username} cannot move to {node?.Alias ?? "that node"}: " + string.Join(" ", preflight.Problems);
            await audit.RecordAsync(actor, "account.move-mail", username, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalValidationException(message, preflight.Problems, "move.preflight");
        }

        var request = new OperationRequest(MailCopyJob.Kind, $"Move the mail of {username} to {node!.Alias}", username, MailCopyJob.Steps);
        var id = await launcher.StartAsync(actor, request, new MoveParameters(node.Id).ToJson(),
            operationId => jobs.Enqueue<MailCopyJob>(job => job.RunAsync(operationId, CancellationToken.None)), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return id;
    }

    /// <summary>The move of this account under way, if any.</summary>
    public async Task<Guid?> RunningMoveAsync(string username, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await RunningMoveAsync(db, username, cancellationToken);
    }

    private static async Task<Guid?> RunningMoveAsync(PortalDbContext db, string username, CancellationToken ct) =>
        await db.Operations.Where(o => o.Target == username && MoveKinds.Contains(o.Kind)
                && (o.State == OperationState.Queued || o.State == OperationState.Running || o.State == OperationState.Paused))
            .OrderByDescending(o => o.RequestedAt).Select(o => (Guid?)o.Id).FirstOrDefaultAsync(ct);
}
