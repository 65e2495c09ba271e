namespace Portal.Jobs.Mail;

/// <summary>
/// Mail that has left this node. A mailbox is taken out of service with one rename into a trash folder on the same
/// filesystem (instant, whatever its size), and the trash is emptied afterwards, when nobody waits for it: deleting
/// 20,000 messages takes 6-8 s on a disk that discards freed blocks, which a move's last step used to wait for.
/// </summary>
public static class MailTrash
{
    public const string Folder = ".portal-trash";

    /// <summary>Moves a mailbox (or any folder under the mail root) into the trash; nothing if it is not there.</summary>
    public static void Discard(string mailRoot, string path)
    {
        if (!Directory.Exists(path))
        {
            return;
        }

        var trash = Path.Combine(mailRoot, Folder);
        Directory.CreateDirectory(trash);
        try
        {
            Directory.Move(path, Path.Combine(trash, Guid.NewGuid().ToString("N")));
        }
        catch (IOException) when (Directory.Exists(path))
        {
            // Not on the trash's filesystem (a domain mounted apart): deleted where it is, the slow way.
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>Deletes what is in the trash (what an interrupted emptying left too); returns how many folders went.</summary>
    public static int Empty(string mailRoot)
    {
        var trash = new DirectoryInfo(Path.Combine(mailRoot, Folder));
        if (!trash.Exists)
        {
            return 0;
        }

        var emptied = 0;
        foreach (var folder in trash.EnumerateDirectories())
        {
            folder.Delete(recursive: true);
            emptied++;
        }

        return emptied;
    }
}
