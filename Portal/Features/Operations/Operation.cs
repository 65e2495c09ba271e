namespace Portal.Features.Operations;

public enum OperationState
{
    Queued,
    Running,
    Paused,
    Succeeded,
    Failed,
    Cancelled,
}

public enum StepState
{
    Pending,
    Running,
    Done,
    Failed,
}

/// <summary>
/// One long-running change (a self-check, a move of mail...). The job that runs it writes it; the UI reads it, so a
/// page reload shows exactly what the job last recorded.
/// </summary>
public sealed class Operation
{
    public Guid Id { get; set; }

    public required string Kind { get; set; }

    public required string Title { get; set; }

    /// <summary>What the operation acts on (an account, a node...), for filtering and one-at-a-time rules.</summary>
    public string? Target { get; set; }

    public OperationState State { get; set; }

    public double Percent { get; set; }

    public string? CurrentStep { get; set; }

    public long ItemsDone { get; set; }

    public long? ItemsTotal { get; set; }

    public long BytesDone { get; set; }

    public long? BytesTotal { get; set; }

    /// <summary>Items or bytes (see <see cref="RateUnit"/>) a second in the running step.</summary>
    public double? Rate { get; set; }

    public RateUnit RateUnit { get; set; }

    public TimeSpan? EstimatedRemaining { get; set; }

    public List<OperationStep> Steps { get; set; } = [];

    public List<OperationResult> Results { get; set; } = [];

    public string? Summary { get; set; }

    public string? Error { get; set; }

    public required string RequestedBy { get; set; }

    /// <summary>The requesting user's id, for the notification when it ends.</summary>
    public string? RequestedById { get; set; }

    /// <summary>An admin asked the job to pause at its next safe point.</summary>
    public bool PauseRequested { get; set; }

    /// <summary>An admin asked the job to stop and undo what it did, at its next safe point before its point of no return.</summary>
    public bool CancelRequested { get; set; }

    /// <summary>What the job needs besides the target, as JSON (ids only, never secrets).</summary>
    public string? Parameters { get; set; }

    public DateTimeOffset RequestedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public int Attempts { get; set; }

    public string? JobId { get; set; }

    public bool IsFinished => State is OperationState.Succeeded or OperationState.Failed or OperationState.Cancelled;
}

public enum RateUnit
{
    Items,
    Bytes,
}

public sealed class OperationStep
{
    public required string Key { get; set; }

    public required string Title { get; set; }

    public double Weight { get; set; } = 1;

    public StepState State { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public string? Summary { get; set; }
}

/// <summary>
/// Where a step of an operation has got to, so that a later attempt resumes there. Kept apart from the operation's
/// row: a checkpoint can be large (a move's switch baseline lists every message), and the row is written several
/// times a second while the checkpoint changes rarely.
/// </summary>
public sealed class OperationCheckpoint
{
    public Guid OperationId { get; set; }

    public required string StepKey { get; set; }

    public required string Data { get; set; }

    public DateTimeOffset SavedAt { get; set; }
}

public sealed class OperationResult
{
    public required string Name { get; set; }

    public required string Value { get; set; }
}

public sealed class OperationLogEntry
{
    public long Id { get; set; }

    public Guid OperationId { get; set; }

    public DateTimeOffset At { get; set; }

    public OperationLogLevel Level { get; set; }

    public required string Message { get; set; }
}

internal sealed class OperationConfiguration : IEntityTypeConfiguration<Operation>
{
    public void Configure(EntityTypeBuilder<Operation> builder)
    {
        builder.ToTable("operations");
        builder.Property(o => o.Kind).HasMaxLength(64);
        builder.Property(o => o.Title).HasMaxLength(256);
        builder.Property(o => o.Target).HasMaxLength(256);
        builder.Property(o => o.CurrentStep).HasMaxLength(64);
        builder.Property(o => o.RequestedBy).HasMaxLength(256);
        builder.Property(o => o.RequestedById).HasMaxLength(450);
        builder.Property(o => o.Parameters).HasMaxLength(StoredText.MaxLength);
        builder.Property(o => o.JobId).HasMaxLength(64);
        builder.Property(o => o.Error).HasMaxLength(StoredText.MaxLength);
        builder.Property(o => o.Summary).HasMaxLength(StoredText.MaxLength);
        builder.Property(o => o.State).HasConversion<string>().HasMaxLength(16);
        builder.Property(o => o.RateUnit).HasConversion<string>().HasMaxLength(16);
        builder.Ignore(o => o.IsFinished);
        builder.OwnsMany(o => o.Steps, steps =>
        {
            steps.ToJson("steps");
            steps.Property(s => s.State).HasConversion<string>();
        });
        builder.OwnsMany(o => o.Results, results => results.ToJson("results"));
        builder.HasIndex(o => o.RequestedAt);
        builder.HasIndex(o => new { o.Kind, o.Target, o.State });
    }
}

internal sealed class OperationLogEntryConfiguration : IEntityTypeConfiguration<OperationLogEntry>
{
    public void Configure(EntityTypeBuilder<OperationLogEntry> builder)
    {
        builder.ToTable("operation_log");
        builder.Property(e => e.Message).HasMaxLength(StoredText.MaxLength);
        builder.Property(e => e.Level).HasConversion<string>().HasMaxLength(16);
        builder.HasOne<Operation>().WithMany().HasForeignKey(e => e.OperationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(e => new { e.OperationId, e.Id });
    }
}

internal sealed class OperationCheckpointConfiguration : IEntityTypeConfiguration<OperationCheckpoint>
{
    public void Configure(EntityTypeBuilder<OperationCheckpoint> builder)
    {
        builder.ToTable("operation_checkpoints");
        builder.HasKey(c => new { c.OperationId, c.StepKey });
        builder.Property(c => c.StepKey).HasMaxLength(64);
        builder.HasOne<Operation>().WithMany().HasForeignKey(c => c.OperationId).OnDelete(DeleteBehavior.Cascade);
    }
}
