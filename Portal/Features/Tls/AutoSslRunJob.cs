namespace Portal.Features.Tls;

/// <summary>"Run AutoSSL now" as an operation: one step that counts the certificates done, and a log line for each.</summary>
public sealed class AutoSslRunJob(IOperationJournal journal, AutoSslService autoSsl, OperationLauncher launcher, IBackgroundJobClient jobs)
{
    public const string Kind = "autossl-run";

    public static readonly IReadOnlyList<OperationStepPlan> Steps = [new("issue", "Issue and renew certificates", 1)];

    /// <summary>
    /// Starts a run for every certificate, or one account's, or one panel host name's; admins only. Returns the
    /// operation's id.
    /// </summary>
    public async Task<Guid> StartAsync(Actor actor, string? username, string? hostName, CancellationToken ct)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins can run AutoSSL.");
        }

        if (username is not null && hostName is not null)
        {
            throw new PortalValidationException("Run AutoSSL for one account or for one panel host name, not both.", null, "autossl.one_scope");
        }

        if (username is not null && !await autoSsl.CoversAsync(username, ct))
        {
            throw new PortalNotFoundException($"AutoSSL looks after no account {username} here: there is none, or its DNS zone is not on this node (a child's copy of a parent's account gets its certificate from the parent).");
        }

        if (hostName is not null && !(await autoSsl.ListHostsAsync(ct)).Any(h => h.HostName == hostName))
        {
            throw new PortalNotFoundException($"No node asks this node's AutoSSL for a panel certificate for {hostName} (see the AutoSSL page's panel host names; a child asks once its Portal:Tls:CertificateFromAutoSsl is on and its health was checked).");
        }

        var title = (username, hostName) switch
        {
            ({ } account, _) => $"AutoSSL for {account}",
            (_, { } host) => $"AutoSSL for the panel at {host}",
            _ => "AutoSSL for every account and panel",
        };
        var request = new OperationRequest(Kind, title, username, Steps);
        return await launcher.StartAsync(actor, request, id => jobs.Enqueue<AutoSslRunJob>(job => job.RunAsync(id, username, hostName, CancellationToken.None)), ct);
    }

    // A run asks the CA again for what failed; retrying the job would only repeat that. It is started again by hand.
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(600)]
    [JobDisplayName("AutoSSL run {0}")]
    public async Task RunAsync(Guid operationId, string? username, string? hostName, CancellationToken ct)
    {
        await using var run = await journal.BeginAsync(operationId, ct);
        try
        {
            AutoSslRun result = new(0, 0, 0);
            await run.StepAsync("issue", async t =>
            {
                result = await autoSsl.RunNowAsync(username, hostName, run, t);
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
