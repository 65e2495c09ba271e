namespace Portal.Jobs.Mail;

/// <summary>An account's mail moving from one child to another (redistribution), as the job sees it.</summary>
public sealed record MailRelay(Guid OperationId, string Username, string Domain, NodeEndpoint Source, string SourceAlias, NodeEndpoint Target, string TargetAlias);

/// <summary>The domain steps of redistribution, implemented by <c>Portal</c>. Each is idempotent.</summary>
public interface IMailRelaySteps
{
    Task<MailRelay> LoadAsync(Guid operationId, CancellationToken cancellationToken);

    /// <summary>Every problem at once: the account on the source, the target a linked mail node with room, versions.</summary>
    Task<PreflightResult> PreflightAsync(MailRelay move, long mailBytes, CancellationToken cancellationToken);

    /// <summary>
    /// The account's twin and its mail configuration (taken from the source) on the target, and its certificate when it
    /// has one; returns what became of the certificate (null: it has none), for the log.
    /// </summary>
    Task<string?> EnsureTwinAsync(MailRelay move, MailConfiguration configuration, CancellationToken cancellationToken);

    /// <summary>DNS and routing point at the target, which serves the mail; the source sends on what still reaches it.</summary>
    Task SwitchAsync(MailRelay move, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the switch took effect (the account's row says where its mail is): a switch step can fail after its
    /// commit (publishing to the mail or DNS servers), and then nothing may be undone.
    /// </summary>
    Task<bool> HasSwitchedAsync(MailRelay move, CancellationToken cancellationToken);

    Task<DateTimeOffset> ScheduleSourceDeletionAsync(MailRelay move, long messages, long bytes, CancellationToken cancellationToken);

    /// <summary>A redistribution that failed before the switch: the target's partial copy (and twin) go.</summary>
    Task AbandonAsync(MailRelay move, CancellationToken cancellationToken);

    Task NotifyAsync(Guid operationId, bool succeeded, string message, CancellationToken cancellationToken);
}

/// <summary>
/// Redistribution: moves an account's mail from one child to another the way a distribution does (copy while the
/// source serves, switch, end the source's sessions, final pass, verify), with the parent passing each streamed
/// batch from the source straight to the target. The source keeps its copy until the retention period has passed.
/// </summary>
public sealed class MailRelayJob(
    IOperationJournal journal,
    IMailRelaySteps steps,
    INodeApiClientFactory clients,
    MailMoveSettings settings,
    NodeMoveSlots slots,
    TimeProvider clock,
    ILogger<MailRelayJob> logger)
{
    public const string Kind = "mail-relay";

    public static readonly IReadOnlyList<OperationStepPlan> Steps =
    [
        new("preflight", "Preflight", 1),
        new("twin", "Account and mail settings on the new child", 1),
        new("bulk", "Copy the mail (the old child keeps serving)", 60),
        new("switch", "Switch DNS and mail routing to the new child", 2),
        new("sessions", "End IMAP/POP3 sessions on the old child", 1),
        new("delta", "Final pass: mail that arrived, changed or went meanwhile", 6),
        new("verify", "Verify each mailbox", 10),
        new("schedule", "Schedule the deletion of the old child's copy", 1),
    ];

    [AutomaticRetry(Attempts = 0)]
    [Queue(JobQueues.Moves)]
    [JobDisplayName("Mail relay {0}")]
    public Task RunAsync(Guid operationId, CancellationToken cancellationToken) =>
        DatabaseAway.RideOutAsync(resumed => RunOnceAsync(operationId, resumed, cancellationToken), clock, settings.RetryWindow, logger, $"{Kind} {operationId}", cancellationToken);

    private async Task RunOnceAsync(Guid operationId, string? resumed, CancellationToken cancellationToken)
    {
        await using var run = await journal.BeginAsync(operationId, resumed, cancellationToken);
        var move = await steps.LoadAsync(operationId, cancellationToken);
        var source = clients.CreateForTransfer(move.Source);
        var target = clients.CreateForTransfer(move.Target);
        await using var slot = await slots.EnterAsync(run, cancellationToken, (move.Source, move.SourceAlias), (move.Target, move.TargetAlias));
        var retry = new MoveRetry(run, clock, settings.RetryWindow);
        try
        {
            var configuration = await retry.RunAsync(() => source.ExportMailConfigurationAsync(move.Username, cancellationToken), cancellationToken);
            // The old child is untrusted input: nothing it says reaches the new child unless it passes the rules.
            MailRules.EnsureAcceptable(configuration, move.Domain, move.SourceAlias);
            var localParts = configuration.Addresses.Select(a => a.LocalPart).ToList();
            await run.StepAsync("preflight", async ct =>
            {
                var manifest = await retry.RunAsync(() => source.GetMailManifestAsync(move.Username, ManifestDetail.Sizes, ct), ct);
                var bytes = manifest.Mailboxes.Sum(m => m.Files.Sum(f => f.Size));
                var result = await steps.PreflightAsync(move, bytes, ct);
                await result.LogOrThrowAsync(run, ct);

                return $"{localParts.Count} mailbox(es), {Units.Bytes(bytes)}, can move from {move.SourceAlias} to {move.TargetAlias}.";
            }, cancellationToken);

            await run.StepAsync("twin", async ct =>
            {
                var certificate = await retry.RunAsync(() => steps.EnsureTwinAsync(move, configuration, ct), ct);
                return $"Account {move.Username} and its mail settings are on {move.TargetAlias}." + (certificate is null ? "" : " " + certificate);
            }, cancellationToken);

            var receiver = new NodeReceiverEnd(target, move.Username);
            Task MarkDeliveredAsync(RecentlyBrought brought, CancellationToken ct) => DovecotDuplicates.MarkAsync(run, move.TargetAlias, brought,
                (files, t) => target.MarkMailDeliveredAsync(move.Username, files, t), ct);
            await run.StepAsync("bulk", async ct =>
            {
                var brought = new RecentlyBrought(clock);
                var passed = await MailPass.FromNodeAsync(run, retry, source, move.Username, localParts, receiver, settings.BatchFiles, ct, brought: brought);
                await MarkDeliveredAsync(brought, ct);
                return passed;
            }, cancellationToken);
            await run.WaitWhilePausedAsync(cancellationToken);
            Task CarryDuplicatesAsync(CancellationToken ct) => DovecotDuplicates.CarryAsync(run, move.SourceAlias, move.TargetAlias,
                t => source.GetMailDuplicatesAsync(move.Username, t), (records, t) => target.MergeMailDuplicatesAsync(move.Username, records, t), ct);
            await run.StepAsync("switch", async ct =>
            {
                await SwitchBaseline.CaptureAsync(run, receiver.ManifestAsync, ct);
                // The mailboxes' state as late as possible, while the new child serves nothing of them yet.
                if (!await steps.HasSwitchedAsync(move, ct))
                {
                    await MailPass.StateFromNodeAsync(run, retry, source, move.Username, localParts, receiver, ct);
                    // Once before the switch as well: a delivery Postfix retries can reach the new child the moment it does.
                    await CarryDuplicatesAsync(ct);
                }

                await retry.RunAsync(() => steps.SwitchAsync(move, ct), ct);
                return $"DNS and mail routing point at {move.TargetAlias}; {move.SourceAlias} sends on what still reaches it.";
            }, cancellationToken);

            await MoveFrame.EndChildSessionsAsync(run, retry, source, move.Username, move.SourceAlias, CarryDuplicatesAsync, cancellationToken);

            async Task<string?> FinalPassAsync(CancellationToken ct)
            {
                var brought = new RecentlyBrought(clock);
                var passed = await MailPass.FromNodeAsync(run, retry, source, move.Username, localParts, receiver, settings.BatchFiles, ct, SwitchBaseline.Load(run), brought);
                await CarryDuplicatesAsync(ct);
                await MarkDeliveredAsync(brought, ct);
                return passed;
            }

            await run.StepAsync("delta", FinalPassAsync, cancellationToken);

            var (messages, bytes) = (0L, 0L);
            await run.StepAsync("verify", async ct =>
            {
                (messages, bytes) = await MailVerification.VerifyAfterFinalPassAsync(run,
                    async t => (await retry.RunAsync(() => source.GetMailManifestAsync(move.Username, ManifestDetail.Hashes, t), t),
                        await retry.RunAsync(() => target.GetMailManifestAsync(move.Username, ManifestDetail.Hashes, t), t)),
                    FinalPassAsync, move.SourceAlias, count =>
                    $"{count} mailbox(es) are not on {move.TargetAlias} as they are on {move.SourceAlias}; the old copy stays and no deletion is scheduled. Run the move again to retry the final pass.", ct);
                return $"All {messages} message(s), {Units.Bytes(bytes)}, are on {move.TargetAlias} byte for byte.";
            }, cancellationToken);

            DateTimeOffset due = default;
            await run.StepAsync("schedule", async ct =>
            {
                due = await steps.ScheduleSourceDeletionAsync(move, messages, bytes, ct);
                return $"The account's copy on {move.SourceAlias} is deleted at {due:yyyy-MM-dd HH:mm} UTC unless an admin cancels or postpones it.";
            }, cancellationToken);

            if (due == default)
            {
                due = await steps.ScheduleSourceDeletionAsync(move, messages, bytes, cancellationToken);
            }

            var summary = $"The mail of {move.Username} now lives on {move.TargetAlias}; {move.SourceAlias}'s copy is deleted at {due:yyyy-MM-dd HH:mm} UTC.";
            await run.SucceedAsync(summary, cancellationToken);
            await steps.NotifyAsync(operationId, true, summary, CancellationToken.None);
        }
        catch (Exception ex) when ((ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested) && !DatabaseAway.Is(ex))
        {
            await MoveFrame.StoppedAsync(run, ex, new MoveStop(
                $"The move of {move.Username}'s mail to {move.TargetAlias}",
                () => steps.HasSwitchedAsync(move, CancellationToken.None),
                () => steps.AbandonAsync(move, CancellationToken.None),
                $"{move.SourceAlias} still serves the mail", $"{move.TargetAlias}'s partial copy",
                $"{move.TargetAlias} serves the mail now; run the move again (Retry) to finish the final pass and the verification."),
                (ok, text, t) => steps.NotifyAsync(operationId, ok, text, t), logger);
        }
    }
}
