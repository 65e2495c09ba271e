namespace Portal.Jobs.Common;

/// <summary>Files written whole: the mail servers' state and certificates, the panel's certificate.</summary>
public static class WholeFile
{
    /// <summary>
    /// Writes a file whole (a temporary name renamed into place), readable by its owner alone when
    /// <paramref name="ownerOnly"/> (a key, or a table holding keys); false when it already said exactly that.
    /// </summary>
    public static async Task<bool> WriteAsync(string path, string content, CancellationToken ct, bool ownerOnly = false)
    {
        if (File.Exists(path) && await File.ReadAllTextAsync(path, ct) == content)
        {
            return false;
        }

        var tmp = path + ".tmp-" + Environment.ProcessId;
        File.Delete(tmp); // one a crash left keeps its mode: made anew, it takes ownerOnly's
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (ownerOnly && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var stream = new FileStream(tmp, options))
        {
            await stream.WriteAsync(new UTF8Encoding(false).GetBytes(content), ct);
        }

        File.Move(tmp, path, overwrite: true);
        return true;
    }
}
