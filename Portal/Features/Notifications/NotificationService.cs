namespace Portal.Features.Notifications;

public sealed record NotificationRow(long Id, NotificationKind Kind, string Title, string Message, string? Link, DateTimeOffset CreatedAt, bool Read);

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
