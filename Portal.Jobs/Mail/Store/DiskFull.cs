namespace Portal.Jobs.Mail;

/// <summary>A write that failed because the filesystem (or the user's quota on it) is full.</summary>
public static class DiskFull
{
    /// <summary>HTTP 507 Insufficient Storage: what a node answers when its mail disk is full.</summary>
    public const int Status = 507;

    public const string Code = "node.disk_full";

    // Linux errno values, which .NET keeps as the IOException's HResult: ENOSPC, EDQUOT.
    private const int NoSpace = 28;
    private const int QuotaExceeded = 122;

    public static bool Is(Exception ex) => ex is IOException { HResult: NoSpace or QuotaExceeded };
}
