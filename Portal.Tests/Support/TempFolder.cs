namespace Portal.Tests.Support;

/// <summary>A folder of the test's own under the system's temporary folder, deleted with everything in it at the end.</summary>
public sealed class TempFolder(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
