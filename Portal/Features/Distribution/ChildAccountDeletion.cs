namespace Portal.Features.Distribution;

public enum ChildDeletionState
{
    Scheduled,
    Done,
    Cancelled,
    Failed,
}

/// <summary>
/// The deletion of an account's copy on a child, due a retention period after its mail left that child (so DNS caches
/// and mail clients have moved on). Run by a delayed job; admins can cancel, postpone or run it now.
/// </summary>
public sealed class ChildAccountDeletion
{
    /// <summary>A deletion still to come may be postponed, cancelled or run now; one that ended may not.</summary>
    public static bool CanChange(ChildDeletionState state) => state == ChildDeletionState.Scheduled;

    /// <summary>A cancelled or failed deletion may be scheduled again; a done one has nothing left to delete.</summary>
    public static bool CanScheduleAgain(ChildDeletionState state) => state is ChildDeletionState.Cancelled or ChildDeletionState.Failed;

    public long Id { get; set; }

    public required string Username { get; set; }

    public required string Domain { get; set; }

    public Guid NodeId { get; set; }

    public required string NodeAlias { get; set; }

    /// <summary>The operation whose move scheduled it.</summary>
    public Guid? OperationId { get; set; }

    public ChildDeletionState State { get; set; }

    public DateTimeOffset DueAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The Hangfire job that runs it (scheduled or enqueued).</summary>
    public string? JobId { get; set; }

    /// <summary>What the last attempt said (why it failed, or who cancelled it).</summary>
    public string? Outcome { get; set; }
}

internal sealed class ChildAccountDeletionConfiguration : IEntityTypeConfiguration<ChildAccountDeletion>
{
    public void Configure(EntityTypeBuilder<ChildAccountDeletion> builder)
    {
        builder.ToTable("child_account_deletions");
        builder.Property(d => d.Username).HasMaxLength(16);
        builder.Property(d => d.Domain).HasMaxLength(253);
        builder.Property(d => d.NodeAlias).HasMaxLength(50);
        builder.Property(d => d.State).HasConversion<string>().HasMaxLength(16);
        builder.Property(d => d.JobId).HasMaxLength(64);
        builder.Property(d => d.Outcome).HasMaxLength(2000);
        builder.HasIndex(d => new { d.State, d.DueAt });
        // One move schedules one deletion, however often its last step runs.
        builder.HasIndex(d => d.OperationId).IsUnique();
    }
}
