namespace Portal.Jobs.Mail;

/// <summary>An account coming from another parent, as the job sees it. The endpoint's token is never logged.</summary>
public sealed record AccountTransfer(Guid OperationId, string Username, string MailRoot, NodeEndpoint Source);

/// <summary>The domain steps of importing an account from another parent, implemented by <c>Portal</c>.</summary>
public interface IAccountTransferSteps
{
    Task<AccountTransfer> LoadAsync(Guid operationId, CancellationToken cancellationToken);

    /// <summary>Every problem at once: the account's mail must live on the source itself, and its names be free here.</summary>
    Task<PreflightResult> PreflightAsync(AccountTransfer transfer, AccountExport export, CancellationToken cancellationToken);

    /// <summary>Creates the account here (owner with the same sign-in, mail configuration, DNS zone); a repeat finds it made.</summary>
    Task ImportAsync(AccountTransfer transfer, AccountExport export, CancellationToken cancellationToken);

    Task NotifyAsync(Guid operationId, bool succeeded, string message, CancellationToken cancellationToken);

    /// <summary>When the admin chose a mail node for it: starts the move of the transferred account's mail there; what happened, or null.</summary>
    Task<string?> PlaceMailAsync(AccountTransfer transfer, CancellationToken cancellationToken);
}

/// <summary>
/// Moves an account from another parent to this one ("transfer" in the reference's path between parent/child pairs):
/// the source exports it through its node API, this node creates it with the same owner sign-in, mail configuration
/// and a fresh DNS zone at its own addresses, copies the mail with the same passes as a move, and verifies every
/// mailbox. The source keeps the account until its admin terminates it there (after pointing the domain's DNS here).
/// </summary>
public sealed class AccountTransferJob(
    IOperationJournal journal,
    IAccountTransferSteps steps,
    INodeApiClientFactory clients,
    MailMoveSettings settings,
    TimeProvider clock,
    ILogger<AccountTransferJob> logger)
{
    public const string Kind = "account-transfer";

    public static readonly IReadOnlyList<OperationStepPlan> Steps =
    [
        new("preflight", "Preflight", 1),
        new("import", "Create the account here (owner, mail settings, DNS zone)", 2),
        new("mail", "Copy the mail", 60),
        new("delta", "Final pass: mail that arrived, changed or went meanwhile", 6),
        new("verify", "Verify each mailbox", 10),
    ];

    [AutomaticRetry(Attempts = 0)]
    [Queue(JobQueues.Moves)]
    [JobDisplayName("Account transfer {0}")]
    public Task RunAsync(Guid operationId, CancellationToken cancellationToken) =>
        DatabaseAway.RideOutAsync(resumed => RunOnceAsync(operationId, resumed, cancellationToken), clock, settings.RetryWindow, logger, $"{Kind} {operationId}", cancellationToken);

    private async Task RunOnceAsync(Guid operationId, string? resumed, CancellationToken cancellationToken)
    {
        await using var run = await journal.BeginAsync(operationId, resumed, cancellationToken);
        var transfer = await steps.LoadAsync(operationId, cancellationToken);
        var source = clients.CreateForTransfer(transfer.Source).AsTransferSource();
        var retry = new MoveRetry(run, clock, settings.RetryWindow);
        try
        {
            var export = await retry.RunAsync(() => source.ExportAccountAsync(transfer.Username, cancellationToken), cancellationToken);
            // Another parent is untrusted input: the account it sends passes the same rules as a user's before anything is done.
            if (export.Account.Username != transfer.Username)
            {
                throw new UntrustedDataException($"{transfer.Source.BaseUrl.Host} sent account \"{MailRules.Printable(export.Account.Username)}\" when {transfer.Username} was asked for; nothing was taken.");
            }

            MailRules.EnsureAcceptable(export.Mail, export.Account.Domain, transfer.Source.BaseUrl.Host);
            var localParts = export.Mail.Addresses.Select(a => a.LocalPart).ToList();
            var receiver = new LocalReceiverEnd(transfer.MailRoot, export.Account.Domain, localParts);
            await run.StepAsync("preflight", async ct =>
            {
                var result = await steps.PreflightAsync(transfer, export, ct);
                if (result.Problems.Count > 0)
                {
                    throw new MovePreflightException(result.Problems);
                }

                return $"{transfer.Username} ({export.Account.Domain}) can come here: {localParts.Count} mailbox(es), {export.MailMessages} message(s), {Units.Bytes(export.MailBytes)}.";
            }, cancellationToken);

            await run.StepAsync("import", async ct =>
            {
                await steps.ImportAsync(transfer, export, ct);
                return $"Account {transfer.Username}, its owner {export.OwnerUserName}, {localParts.Count} email account(s) and {export.Mail.Forwarders.Count} forwarder(s) are here.";
            }, cancellationToken);

            await run.StepAsync("mail", async ct =>
            {
                var copied = await MailPass.FromNodeAsync(run, retry, source, transfer.Username, localParts, receiver, settings.BatchFiles, ct);
                // Before this node's mail servers serve the mailboxes for the first time (the admin points DNS here after the transfer).
                await MailPass.StateFromNodeAsync(run, retry, source, transfer.Username, localParts, receiver, ct);
                return copied;
            }, cancellationToken);
            await run.StepAsync("delta", async ct => await MailPass.FromNodeAsync(run, retry, source, transfer.Username, localParts, receiver, settings.BatchFiles, ct), cancellationToken);
            await run.StepAsync("verify", async ct =>
            {
                var theirs = await retry.RunAsync(() => source.GetMailManifestAsync(transfer.Username, ManifestDetail.Hashes, ct), ct);
                var ours = MailReceiver.Manifest(transfer.MailRoot, export.Account.Domain, localParts, ManifestDetail.Hashes);
                var (messages, bytes) = await MailVerification.VerifyAsync(run, theirs, ours, count =>
                    $"{count} mailbox(es) are not here as they are on the source; run the transfer again to retry the final pass.", ct);
                return $"All {messages} message(s), {Units.Bytes(bytes)}, are here byte for byte.";
            }, cancellationToken);

            var placed = await steps.PlaceMailAsync(transfer, cancellationToken);
            if (placed is not null)
            {
                await run.LogAsync(OperationLogLevel.Info, placed, cancellationToken);
            }

            var summary = $"{transfer.Username} now lives on this node.{(placed is null ? "" : " " + placed)} Point the DNS of {export.Account.Domain} here (its zone is ready), then terminate the account on {transfer.Source.BaseUrl.Host}.";
            await run.SucceedAsync(summary, cancellationToken);
            await steps.NotifyAsync(operationId, true, summary, CancellationToken.None);
        }
        catch (Exception ex) when ((ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested) && !DatabaseAway.Is(ex))
        {
            await MoveFrame.StoppedAsync(run, ex, new MoveStop(
                $"The transfer of {transfer.Username}",
                () => Task.FromResult(false),
                () => Task.CompletedTask,
                "nothing was created here", null,
                "The account is here, its mail not yet all; run it again (Retry) to continue. The source is unchanged."),
                (ok, text, t) => steps.NotifyAsync(operationId, ok, text, t), logger);
        }
    }
}
