namespace Portal.Jobs.Accounts;

/// <summary>
/// What a termination removes, as recorded when it was asked for (the account's row is gone after the "remove" step,
/// so a retry reads this, not the account).
/// </summary>
/// <param name="LocalParts">The account's mailboxes on this node (empty when its mail is on a child).</param>
/// <param name="MailNodeAlias">The child that holds the account's mail, or null when it is here.</param>
/// <param name="KeepArchiveDays">Keep a final archive of the mail on this node for this many days; null: no archive.</param>
public sealed record TerminationPlan(
    string Username, string Domain, string MailRoot, IReadOnlyList<string> LocalParts, string? MailNodeAlias, int? KeepArchiveDays);

/// <summary>What the termination job needs of <c>Portal</c>: the account's plan, and the removals that touch its data.</summary>
public interface IAccountTerminationSteps
{
    Task<TerminationPlan> LoadAsync(Guid operationId, CancellationToken cancellationToken);

    /// <summary>Removes the account's twin and its mail on its child, or queues that removal when the child is away.</summary>
    Task<string?> RemoveFromChildAsync(IOperationRun run, TerminationPlan plan, CancellationToken cancellationToken);

    /// <summary>Removes the account here: owner, tokens, email accounts, forwarders, zone, mail and mail state.</summary>
    Task<string?> RemoveHereAsync(IOperationRun run, TerminationPlan plan, CancellationToken cancellationToken);

    /// <summary>Removes the account's zone from the DNS server.</summary>
    Task<string?> RemoveZoneAsync(TerminationPlan plan, CancellationToken cancellationToken);

    /// <summary>The child that holds the account's mail, to archive it there; null when it is no longer linked.</summary>
    Task<NodeApiClient?> MailNodeAsync(Guid operationId, CancellationToken cancellationToken);

    /// <summary>Free bytes on this node's mail partition.</summary>
    long FreeMailBytes();

    /// <summary>Has the final archive deleted when its time is up.</summary>
    void ScheduleArchiveRemoval(Guid operationId, TimeSpan after);
}

/// <summary>
/// Terminates an account: an optional final archive of its mail (tar, zstd, kept for a number of days), its twin
/// and mail on its child, then everything of it here, then its zone on the DNS server. A failed run keeps what is
/// left (the account stays suspended) and can be retried from the step that failed.
/// </summary>
public sealed class AccountTerminationJob(IOperationJournal journal, IAccountTerminationSteps steps, ILogger<AccountTerminationJob> logger)
{
    public const string Kind = "account-terminate";

    public static IReadOnlyList<OperationStepPlan> StepsFor(bool archive, bool mailOnChild)
    {
        var plan = new List<OperationStepPlan>();
        if (archive)
        {
            plan.Add(new("archive", "Keep a final archive of the mail (tar, zstd)", 5));
        }

        if (mailOnChild)
        {
            plan.Add(new("child", "Remove the account and its mail on its mail node", 2));
        }

        plan.Add(new("remove", "Remove the owner, email accounts, forwarders, zone and mail here", 2));
        plan.Add(new("dns", "Remove the zone from the DNS server", 1));
        return plan;
    }

    [AutomaticRetry(Attempts = 0)] // an admin retries a failed termination from the step that failed
    [Queue(JobQueues.Default)]
    [JobDisplayName("Terminate account {0}")]
    public async Task RunAsync(Guid operationId, CancellationToken cancellationToken)
    {
        await using var run = await journal.BeginAsync(operationId, cancellationToken);
        var plan = await steps.LoadAsync(operationId, cancellationToken);
        try
        {
            if (plan.KeepArchiveDays is { } days)
            {
                await run.StepAsync("archive", ct => ArchiveAsync(run, plan, days, ct), cancellationToken);
            }

            if (plan.MailNodeAlias is not null)
            {
                await run.StepAsync("child", ct => steps.RemoveFromChildAsync(run, plan, ct), cancellationToken);
            }

            await run.StepAsync("remove", ct => steps.RemoveHereAsync(run, plan, ct), cancellationToken);
            await run.StepAsync("dns", ct => steps.RemoveZoneAsync(plan, ct), cancellationToken);
            await run.SucceedAsync($"Account {plan.Username} ({plan.Domain}) is terminated.", cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogError(ex, "Termination {OperationId} of {Username} failed", operationId, plan.Username);
            var kept = run.IsStepDone("remove")
                ? "The account is gone from this node; retry to finish what is left."
                : "Nothing of the account was removed here; it stays suspended. Retry, or lift the suspension to keep it.";
            await run.FailAsync($"The termination of {plan.Username} stopped: {ex.Message} {kept}", CancellationToken.None);
        }
    }

    /// <summary>The delayed job that deletes a termination's final archive when its days are up.</summary>
    [AutomaticRetry(Attempts = 3)]
    [Queue(JobQueues.Default)]
    [JobDisplayName("Delete the final archive of termination {0}")]
    public async Task RemoveArchiveAsync(Guid operationId, CancellationToken cancellationToken)
    {
        var plan = await steps.LoadAsync(operationId, cancellationToken);
        MailArchive.Delete(plan.MailRoot, operationId);
    }

    private async Task<string?> ArchiveAsync(IOperationRun run, TerminationPlan plan, int days, CancellationToken ct)
    {
        if (plan.MailNodeAlias is { } alias)
        {
            return await ArchiveFromChildAsync(run, plan, alias, days, ct);
        }

        if (plan.LocalParts.Count == 0)
        {
            return "The account has no mailboxes here; there is nothing to archive.";
        }

        var manifest = await MailArchive.CreateAsync(run, plan.MailRoot, plan.Domain, plan.LocalParts, ct);
        await KeepAsync(run, plan, manifest, days, ct);
        return $"{manifest.Files.Count} message(s), {Units.Bytes(manifest.ExpandedBytes)}, archived in {Units.Bytes(manifest.ArchiveBytes)}; kept {days} day(s).";
    }

    /// <summary>The final archive is here: its removal is scheduled, and where it is and until when are the operation's results.</summary>
    private async Task KeepAsync(IOperationRun run, TerminationPlan plan, MailArchiveManifest manifest, int days, CancellationToken ct)
    {
        steps.ScheduleArchiveRemoval(run.OperationId, TimeSpan.FromDays(days));
        await run.SetResultAsync("archive", MailArchive.ArchivePath(plan.MailRoot, run.OperationId), ct);
        await run.SetResultAsync("archive sha256", manifest.Sha256, ct);
        await run.SetResultAsync("archive kept until", (run.AttemptStartedAt + TimeSpan.FromDays(days)).ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture), ct);
    }

    /// <summary>
    /// The account's mail is on a child: the child archives it (as for a dedistribution), and this node fetches the
    /// archive, checks its SHA-256 against the child's manifest and keeps both. The child must answer: a final archive
    /// is asked for, so a termination without one is the admin's choice to make, not this job's.
    /// </summary>
    private async Task<string?> ArchiveFromChildAsync(IOperationRun run, TerminationPlan plan, string alias, int days, CancellationToken ct)
    {
        var child = await steps.MailNodeAsync(run.OperationId, ct)
            ?? throw new IOException($"{alias} is no longer linked, so the mail there cannot be archived; terminate without a final archive.");
        try
        {
            var archive = (await child.StartMailArchiveAsync(plan.Username, run.OperationId, ct)).Id;
            while (true)
            {
                var status = await child.GetMailArchiveAsync(plan.Username, archive, ct);
                await run.ReportAsync(new StepProgress(status.FilesDone, status.FilesTotal, status.BytesDone, status.BytesTotal), ct);
                if (status.Succeeded)
                {
                    break;
                }

                if (status.Failed)
                {
                    throw new IOException($"{alias} could not archive the mail: {status.Error}");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            }

            var manifest = await child.GetMailArchiveManifestAsync(plan.Username, archive, ct);
            if (steps.FreeMailBytes() < manifest.ArchiveBytes)
            {
                throw new IOException($"This node has {Units.Bytes(steps.FreeMailBytes())} free on its mail partition; the archive takes {Units.Bytes(manifest.ArchiveBytes)}. Free some space and retry, or terminate without a final archive.");
            }

            var path = MailArchive.ArchivePath(plan.MailRoot, run.OperationId);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await child.DownloadMailArchiveAsync(plan.Username, archive, path, manifest.ArchiveBytes,
                done => run.ReportAsync(new StepProgress(0, null, done, manifest.ArchiveBytes), ct), ct);
            if (await MailArchive.HashFileAsync(path, ct) != manifest.Sha256)
            {
                File.Delete(path);
                throw new MailArchiveRejectedException($"The archive from {alias} does not match its SHA-256; it was not kept. Retry the termination.");
            }

            await File.WriteAllTextAsync(MailArchive.ManifestPath(plan.MailRoot, run.OperationId), JsonSerializer.Serialize(manifest, NodeApiClient.Json), ct);
            try
            {
                await child.DeleteMailArchiveAsync(plan.Username, archive, ct);
            }
            catch (NodeApiException ex)
            {
                logger.LogWarning(ex, "The archive on {Node} stays there until the account's copy is removed", alias);
            }

            await KeepAsync(run, plan, manifest, days, ct);
            return $"{manifest.Files.Count} message(s), {Units.Bytes(manifest.ExpandedBytes)}, archived on {alias} and kept here ({Units.Bytes(manifest.ArchiveBytes)}) for {days} day(s).";
        }
        catch (NodeApiException ex)
        {
            throw new IOException($"{alias} did not make the final archive ({ex.Message}); retry when it is online, or terminate without a final archive.", ex);
        }
    }
}
