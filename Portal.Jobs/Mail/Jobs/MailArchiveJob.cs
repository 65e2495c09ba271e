namespace Portal.Jobs.Mail;

/// <summary>Whose mail an archiving operation takes, and where the node keeps mail.</summary>
/// <param name="DamageForTests">Development and tests: flip a byte of the finished archive, as a bad disk would.</param>
public sealed record MailArchiveRequest(string Username, string Domain, IReadOnlyList<string> LocalParts, string MailRoot, bool DamageForTests = false);

/// <summary>What the archive job needs of <c>Portal</c>: the account behind an archiving operation.</summary>
public interface IMailArchiveSource
{
    Task<MailArchiveRequest> LoadAsync(Guid operationId, CancellationToken cancellationToken);
}

/// <summary>
/// On a child, for a dedistribution: archives an account's mail (tar, zstd) with its manifest, as an operation of
/// its own whose progress the parent reads and shows. The archive is named by the operation's id.
/// </summary>
public sealed class MailArchiveJob(IOperationJournal journal, IMailArchiveSource source, ILogger<MailArchiveJob> logger)
{
    public const string Kind = "mail-archive";

    public static readonly IReadOnlyList<OperationStepPlan> Steps = [new("archive", "Archive the account's mail (tar, zstd) with its manifest", 1)];

    [AutomaticRetry(Attempts = 0)] // the parent asks again if it must
    [Queue(JobQueues.Moves)]
    [JobDisplayName("Mail archive {0}")]
    public async Task RunAsync(Guid operationId, CancellationToken cancellationToken)
    {
        await using var run = await journal.BeginAsync(operationId, cancellationToken);
        var request = await source.LoadAsync(operationId, cancellationToken);
        try
        {
            await run.StepAsync("archive", async ct =>
            {
                var manifest = await MailArchive.CreateAsync(run, request.MailRoot, request.Domain, request.LocalParts, ct);
                if (request.DamageForTests && manifest.ArchiveBytes > 0)
                {
                    await using var file = new FileStream(MailArchive.ArchivePath(request.MailRoot, operationId), FileMode.Open, FileAccess.ReadWrite);
                    file.Position = manifest.ArchiveBytes / 2;
                    var b = file.ReadByte();
                    file.Position = manifest.ArchiveBytes / 2;
                    file.WriteByte((byte)(b ^ 0xFF));
                }

                await run.SetResultAsync("sha256", manifest.Sha256, ct);
                await run.SetResultAsync("archive bytes", manifest.ArchiveBytes.ToString(CultureInfo.InvariantCulture), ct);
                await run.SetResultAsync("expanded bytes", manifest.ExpandedBytes.ToString(CultureInfo.InvariantCulture), ct);
                return $"{manifest.Files.Count} message(s), {Units.Bytes(manifest.ExpandedBytes)}, in an archive of {Units.Bytes(manifest.ArchiveBytes)}.";
            }, cancellationToken);
            await run.SucceedAsync($"The mail of {request.Username} is archived for the parent.", cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogError(ex, "Mail archive {OperationId} of {Username} failed", operationId, request.Username);
            MailArchive.Delete(request.MailRoot, operationId);
            await run.FailAsync($"The mail of {request.Username} could not be archived: {ex.Message}", CancellationToken.None);
        }
    }
}
