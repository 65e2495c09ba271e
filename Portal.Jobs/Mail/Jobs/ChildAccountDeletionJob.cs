namespace Portal.Jobs.Mail;

/// <summary>What the deletion job needs of <c>Portal</c>: carrying out one scheduled deletion (or not, if cancelled).</summary>
public interface IChildAccountDeletions
{
    Task ExecuteAsync(long deletionId, CancellationToken cancellationToken);
}

/// <summary>
/// Deletes an account's copy on a child once the retention period after a dedistribution (or a move to another child)
/// has passed. Scheduled as a delayed job; a cancelled or already-done deletion does nothing.
/// </summary>
public sealed class ChildAccountDeletionJob(IChildAccountDeletions deletions)
{
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [60, 600, 3600])]
    [Queue(JobQueues.Default)]
    [JobDisplayName("Delete a child's account copy {0}")]
    public Task RunAsync(long deletionId, CancellationToken cancellationToken) => deletions.ExecuteAsync(deletionId, cancellationToken);
}
