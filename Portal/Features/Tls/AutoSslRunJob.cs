using Hangfire;
using Portal.Features.Operations;
using Portal.Infrastructure.Security;
using Portal.Jobs.Operations;

namespace Portal.Features.Tls;

/// <summary>"Run AutoSSL now" as an operation: one step that counts the accounts done, and a log line for each.</summary>
public sealed class AutoSslRunJob(IOperationJournal journal, AutoSslService autoSsl, OperationLauncher launcher, IBackgroundJobClient jobs)
{
    public const string Kind = "autossl-run";

    public static readonly IReadOnlyList<OperationStepPlan> Steps = [new("issue", "Issue and renew certificates", 1)];

    /// <summary>Starts a run for every account (or one); admins only. Returns the operation's id.</summary>
    public async Task<Guid> StartAsync(Actor actor, string? username, CancellationToken ct)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins can run AutoSSL.");
        }

        if (username is not null && !await autoSsl.CoversAsync(username, ct))
        {
            throw new PortalNotFoundException($"AutoSSL looks after no account {username} here: there is none, or its DNS zone is not on this node (a child's copy of a parent's account gets its certificate from the parent).");
        }

        var request = new OperationRequest(Kind, username is null ? "AutoSSL for every account" : $"AutoSSL for {username}", username, Steps);
        return await launcher.StartAsync(actor, request, id => jobs.Enqueue<AutoSslRunJob>(job => job.RunAsync(id, username, CancellationToken.None)), ct);
    }

    // A run asks the CA again for what failed; retrying the job would only repeat that. It is started again by hand.
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(600)]
    [JobDisplayName("AutoSSL run {0}")]
    public async Task RunAsync(Guid operationId, string? username, CancellationToken ct)
    {
        await using var run = await journal.BeginAsync(operationId, ct);
        try
        {
            AutoSslRun result = new(0, 0, 0);
            await run.StepAsync("issue", async t =>
            {
                result = await autoSsl.RunNowAsync(username, run, t);
                return $"{result.Issued} issued, {result.Failed} failed, {result.UpToDate} up to date.";
            }, ct);
            if (result.Failed > 0)
            {
                await run.FailAsync($"{result.Failed} certificate(s) could not be issued; the AutoSSL page says why for each. {result.Issued} issued.", CancellationToken.None);
            }
            else
            {
                await run.SucceedAsync($"{result.Issued} certificate(s) issued or renewed; {result.UpToDate} up to date.", ct);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await run.FailAsync(ex.Message, CancellationToken.None);
            throw;
        }
    }
}
