using System.Runtime.InteropServices;

namespace Portal.Jobs.Mail;

/// <summary>
/// Makes a batch of written files durable with one call: Linux's syncfs(2) on the mail root's filesystem, instead of an
/// fsync per file. Elsewhere (or if the call is unavailable) each file is flushed instead.
/// </summary>
public static partial class FileSync
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int syncfs(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    private const int ORdOnly = 0;

    /// <summary>Flushes everything written on the filesystem that holds <paramref name="path"/>; false if it could not.</summary>
    public static bool SyncFileSystem(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            var fd = open(path, ORdOnly);
            if (fd < 0)
            {
                return false;
            }

            try
            {
                return syncfs(fd) == 0;
            }
            finally
            {
                close(fd);
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>The fallback: flush each file to disk.</summary>
    public static void FlushFiles(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            stream.Flush(flushToDisk: true);
        }
    }
}
