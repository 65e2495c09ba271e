namespace Portal.Features.Notifications;

public sealed class NotificationUpdates(ILogger<NotificationUpdates> logger) : LiveUpdates<string>(logger);
