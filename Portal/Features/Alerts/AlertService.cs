namespace Portal.Features.Alerts;

/// <summary>
/// Tells the node's admins about problems: each alert once while it lasts (by its key), as a notification to every
/// admin in the panel and, when configured, an email through the node's own Postfix; and again when it is over.
/// </summary>
public sealed class AlertService(
    IDbContextFactory<PortalDbContext> dbFactory,
    NotificationService notifications,
    AlertMailer mailer,
    TimeProvider clock,
    ILogger<AlertService> logger)
{
    /// <summary>
    /// Raises the alert unless one with this key is open already; true when it was raised now. Every admin is told, and
    /// <paramref name="alsoTell"/> (a user the problem concerns, such as who started a move) if not an admin.
    /// </summary>
    public async Task<bool> RaiseAsync(string key, string title, string message, string? link, CancellationToken ct = default, string? alsoTell = null)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.Alerts.AnyAsync(a => a.Key == key && a.ResolvedAt == null, ct))
        {
            return false;
        }

        var alert = new Alert { Key = key, Title = title, Message = Clip(message), Link = link, RaisedAt = clock.GetUtcNow() };
        db.Alerts.Add(alert);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            return false; // raised at the same moment elsewhere
        }

        logger.LogWarning("Alert raised: {Title}: {Message}", title, alert.Message);
        await TellAdminsAsync(db, NotificationKind.Error, title, alert.Message, link, ct, alsoTell);
        if (await mailer.SendAsync(await AdminEmailsAsync(db, ct), title, alert.Message, ct))
        {
            alert.EmailedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(ct);
        }

        return true;
    }

    /// <summary>Ends the open alert with this key, if any, and says so.</summary>
    public async Task<bool> ResolveAsync(string key, string title, string message, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var alert = await db.Alerts.SingleOrDefaultAsync(a => a.Key == key && a.ResolvedAt == null, ct);
        if (alert is null)
        {
            return false;
        }

        alert.ResolvedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        logger.LogInformation("Alert resolved: {Title}: {Message}", title, message);
        await TellAdminsAsync(db, NotificationKind.Success, title, message, alert.Link, ct);
        if (alert.EmailedAt is not null)
        {
            await mailer.SendAsync(await AdminEmailsAsync(db, ct), title, message, ct);
        }

        return true;
    }

    /// <summary>The keys of the open alerts that start with <paramref name="prefix"/>.</summary>
    public async Task<IReadOnlyList<string>> OpenKeysAsync(string prefix, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Alerts.AsNoTracking().Where(a => a.ResolvedAt == null && a.Key.StartsWith(prefix)).Select(a => a.Key).ToListAsync(ct);
    }

    private async Task TellAdminsAsync(PortalDbContext db, NotificationKind kind, string title, string message, string? link, CancellationToken ct, string? alsoTell = null)
    {
        var users = await AdminsAsync(db).Select(u => u.Id).ToListAsync(ct);
        if (alsoTell is not null && !users.Contains(alsoTell))
        {
            users.Add(alsoTell);
        }

        foreach (var user in users)
        {
            await notifications.NotifyAsync(user, kind, title, message, link, ct);
        }
    }

    private static async Task<IReadOnlyList<string>> AdminEmailsAsync(PortalDbContext db, CancellationToken ct) =>
        await AdminsAsync(db).Where(u => u.Email != null).Select(u => u.Email!).ToListAsync(ct);

    private static IQueryable<PortalUser> AdminsAsync(PortalDbContext db) =>
        from user in db.Users
        join userRole in db.UserRoles on user.Id equals userRole.UserId
        join role in db.Roles on userRole.RoleId equals role.Id
        where role.Name == PortalRoles.Admin
        select user;

    private static string Clip(string message) => StoredText.Clip(message);
}
