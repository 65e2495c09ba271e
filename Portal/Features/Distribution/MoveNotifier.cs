namespace Portal.Features.Distribution;

/// <summary>Tells the admin who asked for a move how it ended (a notification in the portal, linking to the operation).</summary>
public sealed class MoveNotifier(IDbContextFactory<PortalDbContext> dbFactory, NotificationService notifications, AlertService alerts)
{
    /// <param name="title">A title with <c>{0}</c> for the account.</param>
    public async Task NotifyAsync(Guid operationId, bool succeeded, string title, string message, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var operation = await db.Operations.AsNoTracking().SingleAsync(o => o.Id == operationId, ct);
        var heading = string.Format(CultureInfo.InvariantCulture, title, operation.Target);
        var link = $"/admin/operations/{operationId}";
        var key = $"move-failed:{operationId}";
        if (succeeded)
        {
            await alerts.ResolveAsync(key, heading, message, ct);
        }
        // Every admin hears of a failed move, not only who started it, and by email when the node sends alerts; a
        // retry that fails again is told to whoever retried it.
        else if (await alerts.RaiseAsync(key, heading, message, link, ct, alsoTell: operation.RequestedById))
        {
            return;
        }

        if (operation.RequestedById is { } userId)
        {
            await notifications.NotifyAsync(userId, succeeded ? NotificationKind.Success : NotificationKind.Error, heading, message, link, ct);
        }
    }
}
