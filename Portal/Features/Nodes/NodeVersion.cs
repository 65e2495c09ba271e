using System.Reflection;

namespace Portal.Features.Nodes;

/// <summary>A Portal build's version, major.minor.patch; the major is the product major that links compare.</summary>
public readonly record struct NodeVersion(int Major, int Minor, int Patch) : IComparable<NodeVersion>
{
    /// <summary>This build's version, from the assembly (Directory.Build.props sets it).</summary>
    public static NodeVersion OfBuild { get; } = Parse(
        typeof(NodeVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(NodeVersion).Assembly.GetName().Version?.ToString()
        ?? "0.0.0");

    public static NodeVersion Parse(string value)
    {
        if (!TryParse(value, out var version))
        {
            throw new FormatException($"\"{value}\" is not a version (major.minor.patch).");
        }

        return version;
    }

    public static bool TryParse(string? value, out NodeVersion version)
    {
        version = default;
        var core = (value ?? "").Split('+', '-')[0].Split('.');
        if (core.Length < 3
            || !int.TryParse(core[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            || !int.TryParse(core[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            || !int.TryParse(core[2], NumberStyles.None, CultureInfo.InvariantCulture, out var patch))
        {
            return false;
        }

        version = new NodeVersion(major, minor, patch);
        return true;
    }

    public int CompareTo(NodeVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major)
        : Minor != other.Minor ? Minor.CompareTo(other.Minor)
        : Patch.CompareTo(other.Patch);

    public override string ToString() => $"{Major}.{Minor}.{Patch}";
}
