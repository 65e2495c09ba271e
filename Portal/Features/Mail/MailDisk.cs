namespace Portal.Features.Mail;

/// <summary>The mail partition's space, as this node reports it (tests may set the free figure).</summary>
public static class MailDisk
{
    public static (long Free, long Total) Measure(PortalSettings settings)
    {
        Directory.CreateDirectory(settings.MailRoot);
        var drive = new DriveInfo(Path.GetFullPath(settings.MailRoot));
        return (settings.Development.ReportedMailFreeBytes ?? drive.AvailableFreeSpace, drive.TotalSize);
    }
}
