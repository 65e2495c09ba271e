namespace Portal.Features.Notifications;

public enum NotificationKind
{
    Info,
    Success,
    Error,
}

/// <summary>A message for one user in the portal (an operation they started has ended...).</summary>
public sealed class Notification
{
    public long Id { get; set; }

    public required string UserId { get; set; }

    public NotificationKind Kind { get; set; }

    public required string Title { get; set; }

    public required string Message { get; set; }

    public string? Link { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ReadAt { get; set; }
}

internal sealed class NotificationConfiguration : IEntityTypeConfiguration<Notification>
{
    public void Configure(EntityTypeBuilder<Notification> builder)
    {
        builder.ToTable("notifications");
        builder.Property(n => n.UserId).HasMaxLength(450);
        builder.Property(n => n.Title).HasMaxLength(200);
        builder.Property(n => n.Message).HasMaxLength(StoredText.MaxLength);
        builder.Property(n => n.Link).HasMaxLength(500);
        builder.Property(n => n.Kind).HasConversion<string>().HasMaxLength(16);
        builder.HasIndex(n => new { n.UserId, n.CreatedAt });
    }
}
