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

public sealed record NotificationRow(long Id, NotificationKind Kind, string Title, string Message, string? Link, DateTimeOffset CreatedAt, bool Read);

public sealed class NotificationUpdates(ILogger<NotificationUpdates> logger) : LiveUpdates<string>(logger);

/// <summary>Sends notifications to users and lets them read theirs; open pages hear about new ones at once.</summary>
public sealed class NotificationService(IDbContextFactory<PortalDbContext> dbFactory, NotificationUpdates updates, TimeProvider clock)
{
    public async Task NotifyAsync(string userId, NotificationKind kind, string title, string message, string? link, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.Notifications.Add(new Notification
        {
            UserId = userId,
            Kind = kind,
            Title = title,
            Message = StoredText.Clip(message),
            Link = link,
            CreatedAt = clock.GetUtcNow(),
        });
        await db.SaveChangesAsync(ct);
        updates.Publish(userId);
    }

    public async Task<(IReadOnlyList<NotificationRow> Latest, int Unread)> ForAsync(Actor actor, int take = 10, CancellationToken ct = default)
    {
        if (actor.UserId is null)
        {
            return ([], 0);
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var mine = db.Notifications.AsNoTracking().Where(n => n.UserId == actor.UserId);
        var latest = await mine.OrderByDescending(n => n.CreatedAt).Take(take)
            .Select(n => new NotificationRow(n.Id, n.Kind, n.Title, n.Message, n.Link, n.CreatedAt, n.ReadAt != null)).ToListAsync(ct);
        return (latest, await mine.CountAsync(n => n.ReadAt == null, ct));
    }

    public async Task MarkAllReadAsync(Actor actor, CancellationToken ct = default)
    {
        if (actor.UserId is null)
        {
            return;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow();
        await db.Notifications.Where(n => n.UserId == actor.UserId && n.ReadAt == null).ExecuteUpdateAsync(s => s.SetProperty(n => n.ReadAt, now), ct);
        updates.Publish(actor.UserId);
    }
}
