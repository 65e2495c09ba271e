namespace Portal.Features.Audit;

public enum AuditOutcome
{
    Succeeded,
    Refused,
    Failed,

    /// <summary>Asked for; what became of it is recorded when it happens (an operation's pause, at its next safe point).</summary>
    Requested,
}

/// <summary>One administrative change (or attempt): who, what, when (UTC), from where, and how it ended.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }

    public DateTimeOffset At { get; set; }

    public string? ActorId { get; set; }

    public required string ActorName { get; set; }

    public string? Address { get; set; }

    /// <summary>A stable dotted name, for example <c>user.create</c> or <c>operation.start</c>.</summary>
    public required string Action { get; set; }

    public string? Target { get; set; }

    public AuditOutcome Outcome { get; set; }

    public string? Details { get; set; }
}

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("audit_entries");
        builder.Property(e => e.ActorName).HasMaxLength(256);
        builder.Property(e => e.ActorId).HasMaxLength(64);
        builder.Property(e => e.Address).HasMaxLength(64);
        builder.Property(e => e.Action).HasMaxLength(64);
        builder.Property(e => e.Target).HasMaxLength(512);
        builder.Property(e => e.Details).HasMaxLength(StoredText.MaxLength);
        builder.Property(e => e.Outcome).HasConversion<string>().HasMaxLength(16);
        builder.HasIndex(e => e.At);
        builder.HasIndex(e => new { e.Action, e.At });
        builder.HasIndex(e => new { e.ActorName, e.At });
    }
}
