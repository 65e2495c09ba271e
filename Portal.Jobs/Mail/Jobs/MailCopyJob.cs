namespace Portal.Jobs.Mail;

/// <summary>An account's mail move, as the job sees it: whose mail, from where, to which node.</summary>
public sealed record MailMove(Guid OperationId, string Username, string Domain, IReadOnlyList<string> LocalParts, string MailRoot, NodeEndpoint Target, string TargetAlias);

/// <param name="Notes">What the admin may like to know (how much mail moves): information, not a warning.</param>
public sealed record PreflightResult(IReadOnlyList<string> Problems, IReadOnlyList<string> Warnings, IReadOnlyList<string>? Notes = null)
{
    /// <summary>A move's first step: the notes and warnings go to its log, and any problem stops it before anything changes.</summary>
    public async Task LogOrThrowAsync(IOperationRun run, CancellationToken ct)
    {
        foreach (var note in Notes ?? [])
        {
            await run.LogAsync(OperationLogLevel.Info, note, ct);
        }

        foreach (var warning in Warnings)
        {
            await run.LogAsync(OperationLogLevel.Warning, warning, ct);
        }

        if (Problems.Count > 0)
        {
            throw new MovePreflightException(Problems);
        }
    }
}

/// <summary>
/// The domain steps of moving an account's mail to a child, implemented by <c>Portal</c>; the job orders them and does
/// the copying. Each is idempotent: a resumed job may run it again.
/// </summary>
public interface IMailMoveSteps
{
    Task<MailMove> LoadAsync(Guid operationId, CancellationToken cancellationToken);

    Task<PreflightResult> PreflightAsync(MailMove move, CancellationToken cancellationToken);

    /// <summary>
    /// The account's twin and its mail configuration (addresses with their hashes, forwarders) on the child, and its
    /// certificate when it has one; returns what became of the certificate (null: it has none), for the log.
    /// </summary>
    Task<string?> EnsureTwinAsync(MailMove move, CancellationToken cancellationToken);

    /// <summary>DNS, mail routing (SMTP relayed, IMAP/POP3 proxied) and the account's mail node now point at the child.</summary>
    Task SwitchAsync(MailMove move, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the switch took effect (the account's row says where its mail is): a switch step can fail after its
    /// commit (publishing to the mail or DNS servers), and then nothing may be undone.
    /// </summary>
    Task<bool> HasSwitchedAsync(MailMove move, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> EndSessionsAsync(MailMove move, CancellationToken cancellationToken);

    /// <summary>Removes the parent's copy of one verified mailbox.</summary>
    Task RemoveLocalMailboxAsync(MailMove move, string localPart, CancellationToken cancellationToken);

    /// <summary>The move is complete: the parent forgets the account's mail configuration (the child holds it now).</summary>
    Task FinishAsync(MailMove move, CancellationToken cancellationToken);

    /// <summary>A move that failed before the switch: the child's partial copy (and a twin this move made) go away.</summary>
    Task AbandonAsync(MailMove move, CancellationToken cancellationToken);

    Task NotifyAsync(Guid operationId, bool succeeded, string message, CancellationToken cancellationToken);
}

/// <summary>
/// Moves an account's mail to a child without losing a message: preflight, twin, bulk copy while the parent keeps
/// serving, switch, end sessions, final pass, verify and remove the parent's copy. Steps are persisted; a job that
/// stops (a crash, a restart) resumes at the step it was in, and the copy steps are a plan of differences, so
/// nothing is copied twice. Before the switch a failure leaves the parent as it was and cleans the child; after it,
/// the job retries and an admin can run it again from where it stopped.
/// </summary>
public sealed class MailCopyJob(
    IOperationJournal journal,
    IMailMoveSteps steps,
    INodeApiClientFactory clients,
    MailMoveSettings settings,
    NodeMoveSlots slots,
    MailServerAdapter mailServers,
    TimeProvider clock,
    ILogger<MailCopyJob> logger)
{
    public const string Kind = "mail-copy";

    public static readonly IReadOnlyList<OperationStepPlan> Steps =
    [
        new("preflight", "Preflight", 1),
        new("twin", "Account and mail settings on the child", 1),
        new("bulk", "Copy the mail (the parent keeps serving)", 60),
        new("switch", "Switch DNS and mail routing to the child", 2),
        new("sessions", "End IMAP/POP3 sessions on the parent", 1),
        new("delta", "Final pass: mail that arrived, changed or went meanwhile", 6),
        new("verify", "Verify each mailbox; remove the parent's copy", 27),
        new("finish", "Finish", 2),
    ];

    [AutomaticRetry(Attempts = 0)] // retries happen inside (the child may be away for a while); a crash resumes
    [Queue(JobQueues.Moves)]
    [JobDisplayName("Mail copy {0}")]
    public Task RunAsync(Guid operationId, CancellationToken cancellationToken) =>
        DatabaseAway.RideOutAsync(resumed => RunOnceAsync(operationId, resumed, cancellationToken), clock, settings.RetryWindow, logger, $"{Kind} {operationId}", cancellationToken);

    private async Task RunOnceAsync(Guid operationId, string? resumed, CancellationToken cancellationToken)
    {
        await using var run = await journal.BeginAsync(operationId, resumed, cancellationToken);
        var move = await steps.LoadAsync(operationId, cancellationToken);
        var child = clients.CreateForTransfer(move.Target);
        await using var slot = await slots.EnterAsync(run, cancellationToken, (move.Target, move.TargetAlias));
        var ledger = new TransitLedger();
        try
        {
            await run.StepAsync("preflight", async ct =>
            {
                var result = await steps.PreflightAsync(move, ct);
                await result.LogOrThrowAsync(run, ct);

                return $"{move.LocalParts.Count} mailbox(es) of {move.Domain} can move to {move.TargetAlias}.";
            }, cancellationToken);

            await run.StepAsync("twin", async ct =>
            {
                var certificate = await RetryingAsync(run, () => steps.EnsureTwinAsync(move, ct), ct);
                return $"Account {move.Username} and its mail settings are on {move.TargetAlias}." + (certificate is null ? "" : " " + certificate);
            }, cancellationToken);

            await run.StepAsync("bulk", async ct =>
            {
                var brought = new RecentlyBrought(clock);
                var passed = await SyncAsync(run, move, child, null, ledger, ct, brought);
                await MarkDeliveredAsync(run, move, child, brought, ct);
                return passed;
            }, cancellationToken);
            // An admin's pause takes effect here too, before anything switches: one asked for after the last batch of
            // the bulk copy was otherwise recorded and never happened (the move ran to its end).
            await run.WaitWhilePausedAsync(cancellationToken);
            await run.StepAsync("switch", async ct =>
            {
                await SwitchBaseline.CaptureAsync(run, t => child.GetMailManifestAsync(move.Username, ManifestDetail.Paths, t), ct);
                // The mailboxes' state as late as possible, while the child serves nothing of them yet.
                if (!await steps.HasSwitchedAsync(move, ct))
                {
                    await SendStateAsync(run, move, child, ct);
                    // Once before the switch as well: a delivery Postfix retries can reach the child the moment it does.
                    await CarryDuplicatesAsync(run, move, child, ct);
                }

                await steps.SwitchAsync(move, ct);
                await run.LogAsync(OperationLogLevel.Info, $"mail., webmail. and MX of {move.Domain} now point at {move.TargetAlias}; this node relays and proxies its mail there.", ct);
                return "DNS and mail routing point at the child.";
            }, cancellationToken);

            await run.StepAsync("sessions", async ct =>
            {
                await CarryDuplicatesAsync(run, move, child, ct);
                var ended = await steps.EndSessionsAsync(move, ct);
                return ended.Count == 0 ? "No IMAP/POP3 server here to end sessions on." : $"Ended the sessions of {ended.Count} mailbox(es).";
            }, cancellationToken);

            await run.StepAsync("delta", async ct =>
            {
                var brought = new RecentlyBrought(clock);
                var passed = await SyncAsync(run, move, child, SwitchBaseline.Load(run), ledger, ct, brought);
                await CarryDuplicatesAsync(run, move, child, ct);
                await MarkDeliveredAsync(run, move, child, brought, ct);
                return passed;
            }, cancellationToken);
            var unverified = new List<string>();
            await run.StepAsync("verify", ct => VerifyAsync(run, move, child, unverified, ledger, ct), cancellationToken);
            await run.StepAsync("finish", async ct =>
            {
                if (unverified.Count == 0)
                {
                    await steps.FinishAsync(move, ct);
                    return "The child holds the account's mail; the parent's copy is gone.";
                }

                return $"{unverified.Count} mailbox(es) stay on this node: {string.Join(", ", unverified)}.";
            }, cancellationToken);

            var summary = unverified.Count == 0
                ? $"The mail of {move.Username} now lives on {move.TargetAlias}."
                : $"The mail of {move.Username} now lives on {move.TargetAlias}, except {string.Join(", ", unverified)}, which did not verify and stay on this node; see the log.";
            await run.SucceedAsync(summary, cancellationToken);
            await steps.NotifyAsync(operationId, unverified.Count == 0, summary, CancellationToken.None);
            // The parent's copies left service in the verify step; their files go now that nobody waits for the move.
            try
            {
                MailTrash.Empty(move.MailRoot);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning(ex, "The mail trash of {MailRoot} could not be emptied; the next move empties it", move.MailRoot);
            }
        }
        catch (Exception ex) when ((ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested) && !DatabaseAway.Is(ex))
        {
            await MoveFrame.StoppedAsync(run, ex, new MoveStop(
                $"The move of {move.Username}'s mail",
                () => steps.HasSwitchedAsync(move, CancellationToken.None),
                () => steps.AbandonAsync(move, CancellationToken.None),
                "this node still serves the mail", "the child's partial copy",
                "The child serves the mail now; run the move again (Retry) to finish the final pass and the verification."),
                (ok, text, t) => steps.NotifyAsync(operationId, ok, text, t), logger);
        }
    }

    private Task CarryDuplicatesAsync(IOperationRun run, MailMove move, NodeApiClient child, CancellationToken ct) =>
        DovecotDuplicates.CarryAsync(run, "this node", move.TargetAlias,
            _ => Task.FromResult(mailServers.ReadDuplicates(move.Domain, move.LocalParts)),
            (records, t) => child.MergeMailDuplicatesAsync(move.Username, records, t), ct);

    private Task MarkDeliveredAsync(IOperationRun run, MailMove move, NodeApiClient child, RecentlyBrought brought, CancellationToken ct) =>
        DovecotDuplicates.MarkAsync(run, move.TargetAlias, brought, (files, t) => child.MarkMailDeliveredAsync(move.Username, files, t), ct);

    /// <summary>One pass: plan the differences, stream the copies in batches, then rename and delete on the child.</summary>
    private async Task<string?> SyncAsync(IOperationRun run, MailMove move, NodeApiClient child, MailManifest? baseline, TransitLedger ledger, CancellationToken ct,
        RecentlyBrought? brought = null)
    {
        var (copied, bytes, renamed, deleted) = (0, 0L, 0, 0);
        await RetryingAsync(run, async () =>
        {
            // The child lists its files while this node lists its own.
            var listing = child.GetMailManifestAsync(move.Username, ManifestDetail.Paths, ct);
            var local = MailSyncPlanner.Scan(move.MailRoot, move.Domain, move.LocalParts);
            var remote = await listing;
            var plan = MailSyncPlanner.Measure(MailSyncPlanner.Plan(local, remote, baseline), move.MailRoot, move.Domain);
            var total = plan.Copies.Count;
            var totalBytes = plan.CopyBytes;
            brought?.Add(plan.Copies.Select(c => new MailFileRef(c.LocalPart, c.File.Path)));
            long doneFiles = 0, doneBytes = 0;
            await run.ReportAsync(new StepProgress(0, total, 0, totalBytes), ct);
            var resends = new Dictionary<string, int>(StringComparer.Ordinal);
            var queue = new Queue<PlannedCopy>(plan.Copies);
            var progressGate = new SemaphoreSlim(1, 1);

            // Two batches in flight: while the child makes one durable, the next is already streaming.
            var inFlight = new List<(Task<BatchResult> Result, List<PlannedCopy> Batch)>();
            while (queue.Count > 0 || inFlight.Count > 0)
            {
                // A pause lets what is in flight land first, then holds before the next batch.
                var pausing = inFlight.Count == 0 && await run.IsPauseRequestedAsync(ct);
                if (pausing)
                {
                    await run.WaitWhilePausedAsync(ct);
                }

                while (queue.Count > 0 && inFlight.Count < 2 && (inFlight.Count == 0 || !await run.IsPauseRequestedAsync(ct)))
                {
                    var batch = TakeBatch(queue);
                    var content = new MailBatchContent(move.MailRoot, move.Domain, batch, async (_, size) =>
                    {
                        await progressGate.WaitAsync(ct);
                        try
                        {
                            doneFiles++;
                            doneBytes += size;
                            await run.ReportAsync(new StepProgress(doneFiles, total, doneBytes, totalBytes), ct);
                        }
                        finally
                        {
                            progressGate.Release();
                        }
                    }, MailBatchFormat.DigestFor(remote.TransitDigests));
                    inFlight.Add((child.SendMailBatchAsync(move.Username, content, ct), batch));
                }

                var finished = inFlight[0];
                inFlight.RemoveAt(0);
                BatchResult result;
                try
                {
                    result = await finished.Result;
                }
                catch
                {
                    // Let the other batch end before the whole pass is planned again.
                    await Task.WhenAll(inFlight.Select(f => f.Result)).ContinueWith(_ => { }, TaskScheduler.Default);
                    throw;
                }

                copied += result.Accepted;
                bytes += result.AcceptedBytes;
                PortalTelemetry.MailCopied(run.Kind, result.Accepted, result.AcceptedBytes);
                ledger.Add(finished.Batch, result.Rejected);
                foreach (var rejected in result.Rejected)
                {
                    var key = $"{rejected.LocalPart}/{rejected.Path}";
                    var attempts = resends[key] = resends.GetValueOrDefault(key) + 1;
                    if (attempts > settings.ResendAttempts)
                    {
                        await Task.WhenAll(inFlight.Select(f => f.Result)).ContinueWith(_ => { }, TaskScheduler.Default);
                        throw new IOException($"{rejected.Path} of {rejected.LocalPart}@{move.Domain} was refused {attempts} times: {rejected.Reason}");
                    }

                    await progressGate.WaitAsync(ct);
                    try
                    {
                        await run.LogAsync(OperationLogLevel.Warning, $"{rejected.Path} of {rejected.LocalPart}@{move.Domain} was refused by the child ({rejected.Reason}); sending it again.", ct);
                        var original = finished.Batch.First(b => b.LocalPart == rejected.LocalPart && b.File.Path == rejected.Path);
                        doneFiles--;
                        doneBytes -= original.File.Size;
                        queue.Enqueue(original);
                    }
                    finally
                    {
                        progressGate.Release();
                    }
                }
            }

            foreach (var chunk in plan.Changes.InRequests())
            {
                var applied = await child.ApplyMailChangesAsync(move.Username, chunk, ct);
                renamed += applied.Renamed;
                deleted += applied.Deleted;
            }
        }, ct);

        var text = $"{copied} message(s), {Units.Bytes(bytes)} copied; {renamed} renamed (flags, folders); {deleted} deleted.";
        await run.LogAsync(OperationLogLevel.Info, text, ct);
        return text;
    }

    /// <summary>
    /// Sends the mailboxes' Dovecot state (UIDs and UIDVALIDITY, keywords, subscriptions: <see cref="MaildirState"/>),
    /// so mail clients find every folder as they knew it. A child too old to take it is said in the log.
    /// </summary>
    private async Task SendStateAsync(IOperationRun run, MailMove move, NodeApiClient child, CancellationToken ct)
    {
        var files = move.LocalParts.SelectMany(local => MaildirState.Enumerate(Maildir.MailboxPath(move.MailRoot, move.Domain, local))
            .Select(f => new PlannedCopy(local, f))).ToList();
        if (files.Count == 0)
        {
            return;
        }

        try
        {
            var result = await RetryingAsync(run, () => child.SendMailStateAsync(move.Username, new MailBatchContent(move.MailRoot, move.Domain, files), ct), ct);
            if (result.Rejected.Count > 0)
            {
                throw new IOException($"{result.Rejected.Count} state file(s) were refused by {move.TargetAlias} (first: {result.Rejected[0].LocalPart}/{result.Rejected[0].Path}: {result.Rejected[0].Reason})");
            }

            await run.LogAsync(OperationLogLevel.Info, $"{result.Accepted} state file(s) (UIDs, keywords, subscriptions) sent: mail clients keep what they know of each folder.", ct);
        }
        catch (NodeRequestException ex) when (ex.Status == 404)
        {
            await run.LogAsync(OperationLogLevel.Warning, $"{move.TargetAlias} does not take mailbox state yet (an older Portal): mail clients will see the moved mailboxes as new.", ct);
        }
    }

    private List<PlannedCopy> TakeBatch(Queue<PlannedCopy> queue)
    {
        var batch = new List<PlannedCopy>();
        long bytes = 0;
        while (queue.Count > 0 && batch.Count < settings.BatchFiles && (batch.Count == 0 || bytes + queue.Peek().File.Size <= settings.BatchBytes))
        {
            var next = queue.Dequeue();
            bytes += next.File.Size;
            batch.Add(next);
        }

        return batch;
    }

    /// <summary>
    /// Every message of the parent's mailbox must be on the child, byte for byte (SHA-256), whatever its flags: mail that
    /// arrived on the child since is fine. A mailbox that verifies loses its copy here; one that does not stays.
    /// Messages this run copied were checked byte for byte as they arrived (the child hashed what it wrote against the
    /// hash of what this node read: <see cref="TransitLedger"/>, and a message file's content never changes); when
    /// every message of the account is such, both sides compare names and sizes instead of reading all the mail again.
    /// After a restart the ledger is empty and both sides hash everything.
    /// </summary>
    private async Task<string?> VerifyAsync(IOperationRun run, MailMove move, NodeApiClient child, List<string> unverified, TransitLedger ledger, CancellationToken ct)
    {
        var progress = run.GetCheckpoint("verify") is { } json
            ? JsonSerializer.Deserialize<VerifyCheckpoint>(json)!
            : new VerifyCheckpoint([], []);
        var pending = move.LocalParts.Where(l => !progress.Verified.Contains(l) && !progress.Unverified.Contains(l)).ToList();
        if (pending.Count > 0)
        {
            // A delivery under way here at the switch can save its message after the final pass listed the mailbox:
            // while this node holds mail the child lacks, the final pass runs again before any mailbox is judged.
            await MailVerification.PassAgainWhileMissingAsync(run,
                async t => (MailReceiver.Manifest(move.MailRoot, move.Domain, pending, ManifestDetail.Paths),
                    await RetryingAsync(run, () => child.GetMailManifestAsync(move.Username, ManifestDetail.Paths, t), t)),
                async t =>
                {
                    var brought = new RecentlyBrought(clock);
                    await SyncAsync(run, move, child, SwitchBaseline.Load(run), ledger, t, brought);
                    await CarryDuplicatesAsync(run, move, child, t);
                    await MarkDeliveredAsync(run, move, child, brought, t);
                },
                "This node", ct);
        }

        var sized = MailReceiver.Manifest(move.MailRoot, move.Domain, pending, ManifestDetail.Sizes).Mailboxes;
        var detail = sized.All(m => m.Files.All(f => ledger.Covers(m.LocalPart, f))) ? ManifestDetail.Sizes : ManifestDetail.Hashes;
        var remote = await RetryingAsync(run, () => child.GetMailManifestAsync(move.Username, detail, ct), ct);
        var done = progress.Verified.Count + progress.Unverified.Count;
        foreach (var localPart in pending)
        {
            var ours = detail == ManifestDetail.Sizes
                ? sized.First(m => m.LocalPart == localPart).Files
                : MailReceiver.Manifest(move.MailRoot, move.Domain, [localPart], ManifestDetail.Hashes).Mailboxes[0].Files;
            var theirs = remote.Mailboxes.FirstOrDefault(m => m.LocalPart == localPart)?.Files ?? [];
            var theirFiles = theirs.GroupBy(f => Maildir.MessageKey(f.Path)).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            var missing = ours.Where(f => !theirFiles.TryGetValue(Maildir.MessageKey(f.Path), out var there)
                || (detail == ManifestDetail.Hashes ? there.Sha256 != f.Sha256 : there.Size != f.Size)).ToList();
            var address = $"{localPart}@{move.Domain}";
            if (missing.Count == 0)
            {
                var how = detail == ManifestDetail.Hashes ? "byte for byte" : "each checked against its digest as it arrived";
                await run.LogAsync(OperationLogLevel.Info, $"{address}: all {ours.Count} message(s), {Units.Bytes(ours.Sum(f => f.Size))}, are on {move.TargetAlias} {how} ({theirs.Count} there in all).", ct);
                await steps.RemoveLocalMailboxAsync(move, localPart, ct);
                progress.Verified.Add(localPart);
            }
            else
            {
                await run.LogAsync(OperationLogLevel.Error, $"{address}: {missing.Count} of {ours.Count} message(s) are not on {move.TargetAlias} as they are here (first: {missing[0].Path}); this mailbox stays on this node.", ct);
                progress.Unverified.Add(localPart);
            }

            await run.SaveCheckpointAsync("verify", JsonSerializer.Serialize(progress), ct);
            await run.ReportAsync(new StepProgress(++done, move.LocalParts.Count), ct);
        }

        unverified.AddRange(progress.Unverified);
        return $"{progress.Verified.Count} mailbox(es) verified and removed here; {progress.Unverified.Count} kept.";
    }

    private sealed record VerifyCheckpoint(List<string> Verified, List<string> Unverified);

    private Task RetryingAsync(IOperationRun run, Func<Task> work, CancellationToken ct) =>
        new MoveRetry(run, clock, settings.RetryWindow).RunAsync(work, ct);

    private Task<T> RetryingAsync<T>(IOperationRun run, Func<Task<T>> work, CancellationToken ct) =>
        new MoveRetry(run, clock, settings.RetryWindow).RunAsync(work, ct);
}

public sealed class MovePreflightException(IReadOnlyList<string> problems)
    : Exception("The preflight found problems: " + string.Join(" ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
