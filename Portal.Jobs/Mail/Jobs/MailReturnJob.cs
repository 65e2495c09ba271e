namespace Portal.Jobs.Mail;

/// <summary>An account's mail coming back from a child (dedistribution), as the job sees it.</summary>
public sealed record MailReturn(Guid OperationId, string Username, string Domain, string MailRoot, NodeEndpoint Source, string SourceAlias);

/// <summary>The domain steps of dedistribution, implemented by <c>Portal</c>. Each is idempotent.</summary>
public interface IMailReturnSteps
{
    Task<MailReturn> LoadAsync(Guid operationId, CancellationToken cancellationToken);

    Task<PreflightResult> PreflightAsync(MailReturn move, CancellationToken cancellationToken);

    /// <summary>Free bytes on this node's mail partition.</summary>
    long FreeMailBytes();

    /// <summary>
    /// The account's mail is served here again: its addresses and forwarders taken over, its mail node local, DNS at
    /// this node, and the child sending what still reaches it here (IMAP/POP3 proxied, SMTP relayed).
    /// </summary>
    Task SwitchBackAsync(MailReturn move, MailConfiguration configuration, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the switch took effect (the account's row says where its mail is): a switch step can fail after its
    /// commit (publishing to the mail or DNS servers), and then nothing may be undone.
    /// </summary>
    Task<bool> HasSwitchedAsync(MailReturn move, CancellationToken cancellationToken);

    /// <summary>Schedules the deletion of the child's copy after the retention period; returns when it is due.</summary>
    Task<DateTimeOffset> ScheduleChildDeletionAsync(MailReturn move, long messages, long bytes, CancellationToken cancellationToken);

    /// <summary>A dedistribution that failed before the switch: what it unpacked here goes (the account still lives on the child).</summary>
    Task AbandonAsync(MailReturn move, IReadOnlyList<string> localParts, CancellationToken cancellationToken);

    Task NotifyAsync(Guid operationId, bool succeeded, string message, CancellationToken cancellationToken);
}

/// <summary>
/// Dedistribution: brings an account's mail back from a child without losing a message. The child archives the mail
/// (its own job, progress shown here); this node checks it has room for the archive and its contents, fetches it
/// (resuming a broken fetch), checks and unpacks it defensively, switches DNS and routing back, ends the sessions on
/// the child, fetches what arrived or changed there meanwhile, verifies every mailbox, and schedules the deletion of
/// the child's copy after the retention period. Before the switch a failure leaves the child serving and removes what
/// came here; after it, the job retries and can be run again from its checkpoint.
/// </summary>
public sealed class MailReturnJob(
    IOperationJournal journal,
    IMailReturnSteps steps,
    INodeApiClientFactory clients,
    MailMoveSettings settings,
    NodeMoveSlots slots,
    MailServerAdapter mailServers,
    TimeProvider clock,
    ILogger<MailReturnJob> logger)
{
    public const string Kind = "mail-return";

    public static readonly IReadOnlyList<OperationStepPlan> Steps =
    [
        new("preflight", "Preflight", 1),
        new("archive", "The child archives the mail", 15),
        new("space", "Check the free disk here", 1),
        new("fetch", "Fetch the archive", 15),
        new("unpack", "Check and unpack the archive", 15),
        new("switch", "Switch DNS and mail routing back to this node", 2),
        new("sessions", "End IMAP/POP3 sessions on the child", 1),
        new("delta", "Final pass: mail that arrived, changed or went meanwhile", 5),
        new("verify", "Verify each mailbox", 10),
        new("schedule", "Schedule the deletion of the child's copy", 1),
    ];

    /// <summary>How often the child's archiving is asked how it is going.</summary>
    public static TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    [AutomaticRetry(Attempts = 0)]
    [Queue(JobQueues.Moves)]
    [JobDisplayName("Mail return {0}")]
    public Task RunAsync(Guid operationId, CancellationToken cancellationToken) =>
        DatabaseAway.RideOutAsync(resumed => RunOnceAsync(operationId, resumed, cancellationToken), clock, settings.RetryWindow, logger, $"{Kind} {operationId}", cancellationToken);

    private async Task RunOnceAsync(Guid operationId, string? resumed, CancellationToken cancellationToken)
    {
        await using var run = await journal.BeginAsync(operationId, resumed, cancellationToken);
        var move = await steps.LoadAsync(operationId, cancellationToken);
        var child = clients.CreateForTransfer(move.Source);
        await using var slot = await slots.EnterAsync(run, cancellationToken, (move.Source, move.SourceAlias));
        var retry = new MoveRetry(run, clock, settings.RetryWindow);
        var archivePath = Path.Combine(move.MailRoot, MailReceiver.StagingFolder, $"return-{operationId:N}.tar.zst");
        var unpackFolder = Path.Combine(move.MailRoot, MailReceiver.StagingFolder, $"return-{operationId:N}");
        IReadOnlyList<string> localParts = [];
        Guid? archiveId = null;
        try
        {
            await run.StepAsync("preflight", async ct =>
            {
                var result = await steps.PreflightAsync(move, ct);
                await result.LogOrThrowAsync(run, ct);

                return $"The mail of {move.Username} can come back from {move.SourceAlias}.";
            }, cancellationToken);

            var configuration = await retry.RunAsync(() => child.ExportMailConfigurationAsync(move.Username, cancellationToken), cancellationToken);
            // The child is untrusted input: its settings pass the same rules as a user's before anything is done.
            MailRules.EnsureAcceptable(configuration, move.Domain, move.SourceAlias);
            localParts = configuration.Addresses.Select(a => a.LocalPart).ToList();
            if (!run.IsStepDone("schedule"))
            {
                // Named by this operation: a resumed job (or one after a restart) finds the same archive on the child,
                // to fetch it or, at the end, to remove it. (The last step removes it; after that it is not asked for.)
                archiveId = (await retry.RunAsync(() => child.StartMailArchiveAsync(move.Username, operationId, cancellationToken), cancellationToken)).Id;
            }

            await run.StepAsync("archive", async ct =>
            {
                while (true)
                {
                    var status = await retry.RunAsync(() => child.GetMailArchiveAsync(move.Username, archiveId!.Value, ct), ct);
                    await run.ReportAsync(new StepProgress(status.FilesDone, status.FilesTotal, status.BytesDone, status.BytesTotal), ct);
                    if (status.Succeeded)
                    {
                        return $"{move.SourceAlias} archived {status.FilesDone} message(s), {Units.Bytes(status.BytesDone)}.";
                    }

                    if (status.Failed)
                    {
                        throw new IOException($"{move.SourceAlias} could not archive the mail: {status.Error}");
                    }

                    // A pause holds here (the child finishes its archive meanwhile); a cancel is taken here, not after the unpack.
                    await run.WaitWhilePausedAsync(ct);
                    await Task.Delay(PollInterval, clock, ct);
                }
            }, cancellationToken);

            var manifest = archiveId is { } archive && !run.IsStepDone("unpack")
                ? await retry.RunAsync(() => child.GetMailArchiveManifestAsync(move.Username, archive, cancellationToken), cancellationToken)
                : null;
            await run.StepAsync("space", ct =>
            {
                var free = steps.FreeMailBytes();
                var needed = manifest!.ArchiveBytes + manifest.ExpandedBytes;
                if (free < needed)
                {
                    throw new MovePreflightException([
                        $"This node has {Units.Bytes(free)} free on its mail partition; the archive takes {Units.Bytes(manifest.ArchiveBytes)} and unpacks to {Units.Bytes(manifest.ExpandedBytes)}, {Units.Bytes(needed)} in all. Free {Units.Bytes(needed - free)} here and start the dedistribution again; nothing has changed.",
                    ]);
                }

                return Task.FromResult<string?>($"{Units.Bytes(free)} free here; {Units.Bytes(needed)} needed.");
            }, cancellationToken);

            await run.WaitWhilePausedAsync(cancellationToken);
            await run.StepAsync("fetch", async ct =>
            {
                Directory.CreateDirectory(Path.GetDirectoryName(archivePath)!);
                for (var attempt = 1; ; attempt++)
                {
                    await retry.RunAsync(() => child.DownloadMailArchiveAsync(move.Username, archiveId!.Value, archivePath, manifest!.ArchiveBytes,
                        done => run.ReportAsync(new StepProgress(0, null, done, manifest!.ArchiveBytes), ct), ct), ct);
                    var sha = await MailArchive.HashFileAsync(archivePath, ct);
                    if (sha == manifest!.Sha256)
                    {
                        return $"Fetched {Units.Bytes(manifest.ArchiveBytes)}; its SHA-256 matches.";
                    }

                    File.Delete(archivePath);
                    if (attempt == 2)
                    {
                        throw new MailArchiveRejectedException($"The archive from {move.SourceAlias} arrived damaged twice (SHA-256 {sha}, the child made {manifest.Sha256}); it was not unpacked. Check the child's disk and the network between the nodes, then try again.");
                    }

                    await run.LogAsync(OperationLogLevel.Warning, "The fetched archive does not match its SHA-256; fetching it again.", ct);
                }
            }, cancellationToken);

            // What the archive or the final pass brought that the child may have saved without confirming it.
            Task MarkDeliveredAsync(RecentlyBrought brought, CancellationToken ct) => DovecotDuplicates.MarkAsync(run, "this node", brought,
                (files, t) => mailServers.MarkDeliveredAsync(move.MailRoot, move.Domain, localParts.ToHashSet(StringComparer.Ordinal), files, clock.GetUtcNow(), t), ct);
            Task MarkArchiveAsync(CancellationToken ct) => MarkDeliveredAsync(new RecentlyBrought(clock, manifest!.Files.Select(f => new MailFileRef(f.LocalPart, f.Path))), ct);
            await run.StepAsync("unpack", async ct =>
            {
                // The archive goes only once all of it is in place: a run that stopped after that, before it could
                // record the step done, finds no archive, and everything it listed where it belongs.
                if (!File.Exists(archivePath) && !Directory.Exists(unpackFolder) && MailArchive.AllPlaced(manifest!, move.MailRoot, move.Domain))
                {
                    await MarkArchiveAsync(ct);
                    return $"{manifest!.Files.Count} message(s) were already in place, each checked against the manifest (an earlier attempt unpacked them, then stopped).";
                }

                // What Dovecot kept about this domain's mailboxes with no message in them (the preflight found none
                // here) makes way: the archive brings each mailbox's state, and Dovecot's indexes would disagree with it.
                if (Maildir.Contents(move.MailRoot, move.Domain).Messages == 0)
                {
                    MailTrash.Discard(move.MailRoot, Maildir.DomainFolder(move.MailRoot, move.Domain));
                }

                await MailArchive.ExtractAsync(archivePath, manifest!, localParts.ToHashSet(StringComparer.Ordinal), unpackFolder, ArchiveLimits.Default,
                    (files, bytes) => run.ReportAsync(new StepProgress(files, manifest!.Files.Count, bytes, manifest.ExpandedBytes), ct), ct);
                var placed = MailArchive.PlaceInMailboxes(unpackFolder, move.MailRoot, move.Domain);
                PortalTelemetry.MailCopied(run.Kind, placed, manifest!.ExpandedBytes);
                await MarkArchiveAsync(ct);
                File.Delete(archivePath);
                return $"{placed} message(s) checked against the manifest and in place.";
            }, cancellationToken);

            // An admin's pause takes effect here, before anything switches (and in the final pass, between batches).
            await run.WaitWhilePausedAsync(cancellationToken);
            Task CarryDuplicatesAsync(CancellationToken ct) => DovecotDuplicates.CarryAsync(run, move.SourceAlias, "this node",
                t => child.GetMailDuplicatesAsync(move.Username, t),
                (records, t) => mailServers.MergeDuplicatesAsync(move.Domain, localParts.ToHashSet(StringComparer.Ordinal), records, clock.GetUtcNow(), t), ct);
            await run.StepAsync("switch", async ct =>
            {
                var here = new LocalReceiverEnd(move.MailRoot, move.Domain, localParts);
                await SwitchBaseline.CaptureAsync(run, here.ManifestAsync, ct);
                // The mailboxes' state as late as possible, while this node serves nothing of them yet.
                if (!await steps.HasSwitchedAsync(move, ct))
                {
                    await MailPass.StateFromNodeAsync(run, retry, child, move.Username, localParts, here, ct);
                    // Once before the switch as well: a delivery Postfix retries can come here the moment it does.
                    await CarryDuplicatesAsync(ct);
                }

                await retry.RunAsync(() => steps.SwitchBackAsync(move, configuration, ct), ct);
                await run.LogAsync(OperationLogLevel.Info, $"mail., webmail. and MX of {move.Domain} point at this node again; {move.SourceAlias} proxies and relays what still reaches it here.", ct);
                return "DNS and mail routing point at this node.";
            }, cancellationToken);

            await MoveFrame.EndChildSessionsAsync(run, retry, child, move.Username, move.SourceAlias, CarryDuplicatesAsync, cancellationToken);

            async Task<string?> FinalPassAsync(CancellationToken ct)
            {
                var brought = new RecentlyBrought(clock);
                var passed = await MailPass.FromNodeAsync(run, retry, child, move.Username, localParts,
                    new LocalReceiverEnd(move.MailRoot, move.Domain, localParts), settings.BatchFiles, ct, SwitchBaseline.Load(run), brought);
                await CarryDuplicatesAsync(ct);
                await MarkDeliveredAsync(brought, ct);
                return passed;
            }

            await run.StepAsync("delta", FinalPassAsync, cancellationToken);

            var (messages, bytes) = (0L, 0L);
            await run.StepAsync("verify", async ct =>
            {
                (messages, bytes) = await MailVerification.VerifyAfterFinalPassAsync(run,
                    async t => (await retry.RunAsync(() => child.GetMailManifestAsync(move.Username, ManifestDetail.Hashes, t), t), MailReceiver.Manifest(move.MailRoot, move.Domain, localParts, ManifestDetail.Hashes)),
                    FinalPassAsync, move.SourceAlias, count =>
                    $"{count} mailbox(es) are not here as they are on {move.SourceAlias}; the child's copy stays and no deletion is scheduled. Run the dedistribution again to retry the final pass.", ct);
                return $"All {messages} message(s), {Units.Bytes(bytes)}, are here byte for byte.";
            }, cancellationToken);

            DateTimeOffset due = default;
            await run.StepAsync("schedule", async ct =>
            {
                due = await steps.ScheduleChildDeletionAsync(move, messages, bytes, ct);
                if (archiveId is { } done)
                {
                    await TryAsync(() => child.DeleteMailArchiveAsync(move.Username, done, ct));
                }

                return $"The account's copy on {move.SourceAlias} is deleted at {due:yyyy-MM-dd HH:mm} UTC unless an admin cancels or postpones it.";
            }, cancellationToken);

            if (due == default)
            {
                due = await steps.ScheduleChildDeletionAsync(move, messages, bytes, cancellationToken); // done before: the same deletion
            }

            var summary = $"The mail of {move.Username} is back on this node; {move.SourceAlias}'s copy is deleted at {due:yyyy-MM-dd HH:mm} UTC.";
            await run.SucceedAsync(summary, cancellationToken);
            await steps.NotifyAsync(operationId, true, summary, CancellationToken.None);
        }
        catch (Exception ex) when ((ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested) && !DatabaseAway.Is(ex))
        {
            await MoveFrame.StoppedAsync(run, ex, new MoveStop(
                $"The dedistribution of {move.Username}",
                () => steps.HasSwitchedAsync(move, CancellationToken.None),
                async () =>
                {
                    // A failure before the fetch (a child's refused settings, say) finds no staging folder: nothing to remove.
                    if (File.Exists(archivePath))
                    {
                        File.Delete(archivePath);
                    }

                    if (Directory.Exists(unpackFolder))
                    {
                        Directory.Delete(unpackFolder, recursive: true);
                    }

                    await steps.AbandonAsync(move, localParts, CancellationToken.None);
                    if (archiveId is { } id)
                    {
                        await TryAsync(() => child.DeleteMailArchiveAsync(move.Username, id, CancellationToken.None));
                    }
                },
                $"{move.SourceAlias} still serves the mail", "what was unpacked here",
                "This node serves the mail now; run it again (Retry) to finish the final pass and the verification."),
                (ok, text, t) => steps.NotifyAsync(operationId, ok, text, t), logger);
        }
    }

    private async Task TryAsync(Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (Exception ex) when (ex is NodeApiException or IOException)
        {
            logger.LogWarning(ex, "Clean-up on the other node failed; it is left there");
        }
    }
}

/// <summary>Compares a sender's mailboxes with a receiver's, by message and SHA-256.</summary>
public static class MailVerification
{
    /// <summary>
    /// Checks that every message of the sender is on the receiver byte for byte, logging each mailbox that is not and
    /// then failing with <paramref name="failure"/> (given how many); returns the sender's messages and bytes.
    /// </summary>
    public static async Task<(long Messages, long Bytes)> VerifyAsync(IOperationRun run, MailManifest sender, MailManifest receiver, Func<int, string> failure, CancellationToken ct)
    {
        var problems = Missing(sender, receiver);
        foreach (var problem in problems)
        {
            await run.LogAsync(OperationLogLevel.Error, problem, ct);
        }

        if (problems.Count > 0)
        {
            throw new IOException(failure(problems.Count));
        }

        // Nothing is missing; a message the receiver holds more often than the sender is said (a mail client shows it twice).
        foreach (var doubled in Doubled(sender, receiver))
        {
            await run.LogAsync(OperationLogLevel.Warning, doubled, ct);
        }

        return (sender.Mailboxes.Sum(m => m.Files.Count), sender.Mailboxes.Sum(m => m.Files.Sum(f => f.Size)));
    }

    /// <summary>How many more final passes a verification runs before it fails.</summary>
    public const int ExtraFinalPasses = 2;

    /// <summary>
    /// <see cref="VerifyAsync"/> after the final pass, which runs again (up to <see cref="ExtraFinalPasses"/> times)
    /// while the sender holds messages the receiver does not: a delivery under way on the old node at the switch can
    /// save its message after the final pass listed the mailbox. A Retry of a move that failed here runs this step
    /// again, and with it the final pass, as its failure says.
    /// </summary>
    public static async Task<(long Messages, long Bytes)> VerifyAfterFinalPassAsync(IOperationRun run, Func<CancellationToken, Task<(MailManifest Sender, MailManifest Receiver)>> manifests,
        Func<CancellationToken, Task> passAgain, string sender, Func<int, string> failure, CancellationToken ct)
    {
        var (theirs, ours) = await PassAgainWhileMissingAsync(run, manifests, passAgain, sender, ct);
        return await VerifyAsync(run, theirs, ours, failure, ct);
    }

    /// <summary>
    /// Runs the final pass again (up to <see cref="ExtraFinalPasses"/> times) while the sender holds messages the
    /// receiver does not, saying so; returns the last manifests, for the verification that follows.
    /// </summary>
    public static async Task<(MailManifest Sender, MailManifest Receiver)> PassAgainWhileMissingAsync(IOperationRun run,
        Func<CancellationToken, Task<(MailManifest Sender, MailManifest Receiver)>> manifests, Func<CancellationToken, Task> passAgain, string sender, CancellationToken ct)
    {
        for (var pass = 1; ; pass++)
        {
            var (theirs, ours) = await manifests(ct);
            if (pass > ExtraFinalPasses || Missing(theirs, ours) is not { Count: > 0 } missing)
            {
                return (theirs, ours);
            }

            await run.LogAsync(OperationLogLevel.Info, $"{sender} holds mail the final pass did not bring ({missing[0]}): passing again.", ct);
            await passAgain(ct);
        }
    }

    /// <summary>One line per mailbox where the receiver holds a message more times than the sender (in two folders, say).</summary>
    public static IReadOnlyList<string> Doubled(MailManifest sender, MailManifest receiver)
    {
        var lines = new List<string>();
        var ours = sender.Mailboxes.ToDictionary(m => m.LocalPart, StringComparer.Ordinal);
        foreach (var mailbox in receiver.Mailboxes)
        {
            var sent = (ours.GetValueOrDefault(mailbox.LocalPart)?.Files ?? []).GroupBy(f => Maildir.MessageKey(f.Path)).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var extra = mailbox.Files.GroupBy(f => Maildir.MessageKey(f.Path))
                .Where(g => sent.TryGetValue(g.Key, out var count) && g.Count() > count).Select(g => g.First().Path).ToList();
            if (extra.Count > 0)
            {
                lines.Add($"{mailbox.LocalPart}: {extra.Count} message(s) are here more often than on the sender (first: {extra[0]}); the owner sees them twice.");
            }
        }

        return lines;
    }

    /// <summary>One line per mailbox whose messages are not all on the receiver byte for byte (flags aside).</summary>
    public static IReadOnlyList<string> Missing(MailManifest sender, MailManifest receiver)
    {
        var problems = new List<string>();
        var theirs = receiver.Mailboxes.ToDictionary(m => m.LocalPart, StringComparer.Ordinal);
        foreach (var mailbox in sender.Mailboxes)
        {
            var hashes = (theirs.GetValueOrDefault(mailbox.LocalPart)?.Files ?? []).GroupBy(f => Maildir.MessageKey(f.Path))
                .ToDictionary(g => g.Key, g => g.First().Sha256, StringComparer.Ordinal);
            var missing = mailbox.Files.Where(f => !hashes.TryGetValue(Maildir.MessageKey(f.Path), out var sha) || sha != f.Sha256).ToList();
            if (missing.Count > 0)
            {
                problems.Add($"{mailbox.LocalPart}: {missing.Count} of {mailbox.Files.Count} message(s) differ or are missing (first: {missing[0].Path}).");
            }
        }

        return problems;
    }
}
