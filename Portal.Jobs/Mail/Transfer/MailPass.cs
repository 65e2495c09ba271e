namespace Portal.Jobs.Mail;

/// <summary>The side of a pass that takes mail in: this node's own Maildirs, or another node over its API.</summary>
public interface IMailReceiverEnd
{
    Task<MailManifest> ManifestAsync(CancellationToken ct);

    Task<BatchResult> ReceiveAsync(Stream batch, CancellationToken ct);

    /// <summary>Takes Dovecot state files (<see cref="MaildirState"/>), before the move's switch.</summary>
    Task<BatchResult> ReceiveStateAsync(Stream batch, CancellationToken ct);

    Task<ChangesResult> ApplyAsync(MailChanges changes, CancellationToken ct);
}

/// <summary>This node receives (dedistribution): files land as they would on a child, through <see cref="MailReceiver"/>.</summary>
public sealed class LocalReceiverEnd(string mailRoot, string domain, IReadOnlyList<string> localParts) : IMailReceiverEnd
{
    private readonly MailReceiver _receiver = new(mailRoot);
    private readonly HashSet<string> _localParts = localParts.ToHashSet(StringComparer.Ordinal);

    public Task<MailManifest> ManifestAsync(CancellationToken ct) => Task.FromResult(MailReceiver.Manifest(mailRoot, domain, localParts, ManifestDetail.Paths));

    public Task<BatchResult> ReceiveAsync(Stream batch, CancellationToken ct) => _receiver.ReceiveAsync(batch, domain, _localParts, ct);

    public Task<BatchResult> ReceiveStateAsync(Stream batch, CancellationToken ct) => _receiver.ReceiveAsync(batch, domain, _localParts, ct, state: true);

    public Task<ChangesResult> ApplyAsync(MailChanges changes, CancellationToken ct) => Task.FromResult(_receiver.Apply(changes, domain, _localParts));
}

/// <summary>Another child receives (a move between children): the batch the source sends is passed straight on.</summary>
public sealed class NodeReceiverEnd(NodeApiClient node, string username) : IMailReceiverEnd
{
    public Task<MailManifest> ManifestAsync(CancellationToken ct) => node.GetMailManifestAsync(username, ManifestDetail.Paths, ct);

    public Task<BatchResult> ReceiveAsync(Stream batch, CancellationToken ct) => node.SendMailBatchStreamAsync(username, batch, ct);

    public Task<BatchResult> ReceiveStateAsync(Stream batch, CancellationToken ct) => node.SendMailStateStreamAsync(username, batch, ct);

    public Task<ChangesResult> ApplyAsync(MailChanges changes, CancellationToken ct) => node.ApplyMailChangesAsync(username, changes, ct);
}

/// <summary>
/// One pass of mail from a node that sends over its API to a receiver: plan what the receiver lacks or has otherwise
/// (<see cref="MailSyncPlanner"/>), have the source stream those files as batches, hand each to the receiver, then
/// apply renames and deletions. A batch with files damaged on the way fails the attempt, and the retry plans again.
/// </summary>
public static class MailPass
{
    public static async Task<string> FromNodeAsync(
        IOperationRun run, MoveRetry retry, NodeApiClient source, string username, IReadOnlyList<string> localParts, IMailReceiverEnd target, int batchFiles, CancellationToken ct,
        MailManifest? baseline = null, RecentlyBrought? brought = null)
    {
        var wanted = localParts.ToHashSet(StringComparer.Ordinal);
        var (copied, bytes, renamed, deleted) = (0, 0L, 0, 0);
        await retry.RunAsync(async () =>
        {
            var theirs = await source.GetMailManifestAsync(username, ManifestDetail.Sizes, ct);
            var sender = theirs.Mailboxes.Where(m => wanted.Contains(m.LocalPart)).ToDictionary(
                m => m.LocalPart, m => (IReadOnlyList<MailFile>)m.Files.Select(f => new MailFile(f.Path, f.Size)).ToList(), StringComparer.Ordinal);
            var receiving = await target.ManifestAsync(ct);
            var plan = MailSyncPlanner.Plan(sender, receiving, baseline);
            // The source frames the batch with the digest the receiver offers (a source too old to know XXH128 sends SHA-256).
            var digest = MailBatchFormat.NameOf(MailBatchFormat.DigestFor(receiving.TransitDigests));
            var done = 0;
            brought?.Add(plan.Copies.Select(c => new MailFileRef(c.LocalPart, c.File.Path)));
            foreach (var batch in plan.Copies.Chunk(batchFiles))
            {
                await run.WaitWhilePausedAsync(ct);
                var request = new MailExportRequest(batch.Select(c => new MailFileRequest(c.LocalPart, c.File.Path, c.File.Size)).ToList(), digest);
                var result = await source.ExportMailAsync(username, request, body => target.ReceiveAsync(body, ct), ct);
                if (result.Rejected.Count > 0)
                {
                    throw new IOException($"{result.Rejected.Count} file(s) arrived damaged (first: {result.Rejected[0].Path}); planning the pass again", new InvalidDataException(result.Rejected[0].Reason));
                }

                copied += result.Accepted;
                bytes += result.AcceptedBytes;
                PortalTelemetry.MailCopied(run.Kind, result.Accepted, result.AcceptedBytes);
                done += batch.Length;
                await run.ReportAsync(new StepProgress(done, plan.Copies.Count, bytes, plan.CopyBytes), ct);
            }

            foreach (var chunk in plan.Changes.InRequests())
            {
                var applied = await target.ApplyAsync(chunk, ct);
                renamed += applied.Renamed;
                deleted += applied.Deleted;
            }
        }, ct);

        var text = $"{copied} message(s), {Units.Bytes(bytes)} brought over; {renamed} renamed (flags, folders); {deleted} deleted.";
        await run.LogAsync(OperationLogLevel.Info, text, ct);
        return text;
    }

    /// <summary>
    /// Brings the source's Dovecot state files (UIDs and UIDVALIDITY, keywords, subscriptions) to the receiver, so a
    /// mail client finds the mailbox as it knew it. Only before the switch: afterwards the receiver's Dovecot owns them.
    /// A source too old to list them is said in the log, and the move goes on (clients then see new UIDs).
    /// </summary>
    public static async Task StateFromNodeAsync(
        IOperationRun run, MoveRetry retry, NodeApiClient source, string username, IReadOnlyList<string> localParts, IMailReceiverEnd target, CancellationToken ct)
    {
        var wanted = localParts.ToHashSet(StringComparer.Ordinal);
        var files = 0;
        try
        {
            await retry.RunAsync(async () =>
            {
                var state = await source.GetMailStateAsync(username, ct);
                var request = new MailExportRequest(state.Mailboxes.Where(m => wanted.Contains(m.LocalPart))
                    .SelectMany(m => m.Files.Select(f => new MailFileRequest(m.LocalPart, f.Path, f.Size))).ToList());
                if (request.Files.Count == 0)
                {
                    return;
                }

                var result = await source.ExportMailAsync(username, request, body => target.ReceiveStateAsync(body, ct), ct);
                if (result.Rejected.Count > 0)
                {
                    throw new IOException($"{result.Rejected.Count} state file(s) were refused (first: {result.Rejected[0].LocalPart}/{result.Rejected[0].Path}: {result.Rejected[0].Reason})");
                }

                files = result.Accepted;
            }, ct);
        }
        catch (NodeRequestException ex) when (ex.Status == 404)
        {
            await run.LogAsync(OperationLogLevel.Warning, $"A node of this move does not handle mailbox state yet (an older Portal: {ex.Message}); mail clients will see the moved mailboxes as new.", ct);
            return;
        }

        await run.LogAsync(OperationLogLevel.Info, $"{files} state file(s) (UIDs, keywords, subscriptions) brought over: mail clients keep what they know of each folder.", ct);
    }
}
