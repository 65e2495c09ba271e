using System.Reflection;
using System.Text.Json.Serialization;
using MudBlazor;
using MudBlazor.Utilities;

namespace Portal.Features.Themes;

/// <summary>A theme a user can pick, read from a JSON file of <c>wwwroot-themes/</c>.</summary>
public sealed record PortalTheme(string Id, string Name, bool IsDark, bool IsDefault, MudTheme Theme);

/// <summary>
/// Loads the themes once at start-up. A file that names an unknown palette colour or holds a bad value stops the
/// node with a message naming the file and the key, rather than showing a half-styled UI.
/// </summary>
public sealed class ThemeCatalog
{
    private static readonly Dictionary<string, PropertyInfo> PaletteColors = typeof(Palette)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.PropertyType == typeof(MudColor) && p.CanWrite)
        .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public ThemeCatalog(IEnumerable<PortalTheme> themes)
    {
        Themes = themes.OrderByDescending(t => t.IsDefault).ThenBy(t => t.Name).ToArray();
        if (Themes.Count == 0)
        {
            throw new InvalidOperationException("No themes were found; the node needs at least one theme file (see wwwroot-themes/).");
        }

        Default = Themes.FirstOrDefault(t => t.IsDefault) ?? Themes[0];
    }

    public IReadOnlyList<PortalTheme> Themes { get; }

    public PortalTheme Default { get; }

    public PortalTheme Resolve(string? id) => Themes.FirstOrDefault(t => t.Id == id) ?? Default;

    public static ThemeCatalog LoadFrom(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new InvalidOperationException($"The themes folder \"{folder}\" does not exist. Set Portal:ThemesPath to the folder that holds the theme files (wwwroot-themes/ in the source tree).");
        }

        return new ThemeCatalog(Directory.EnumerateFiles(folder, "*.json").Order().Select(Parse));
    }

    internal static PortalTheme Parse(string path)
    {
        ThemeFile file;
        try
        {
            file = JsonSerializer.Deserialize<ThemeFile>(File.ReadAllText(path), JsonOptions)
                ?? throw new InvalidOperationException("the file is empty");
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new InvalidOperationException($"Theme file \"{path}\" cannot be read: {ex.Message}", ex);
        }

        if (string.IsNullOrWhiteSpace(file.Id) || string.IsNullOrWhiteSpace(file.Name))
        {
            throw new InvalidOperationException($"Theme file \"{path}\" needs an \"id\" and a \"name\".");
        }

        Palette palette = file.Dark ? new PaletteDark() : new PaletteLight();
        foreach (var (key, value) in file.Palette)
        {
            if (!PaletteColors.TryGetValue(key, out var property))
            {
                throw new InvalidOperationException($"Theme file \"{path}\": \"{key}\" is not a palette colour. Known colours: {string.Join(", ", PaletteColors.Keys.Order())}.");
            }

            try
            {
                property.SetValue(palette, new MudColor(value));
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                throw new InvalidOperationException($"Theme file \"{path}\": \"{value}\" for \"{key}\" is not a colour; write it as #rrggbb.", ex);
            }
        }

        var theme = new MudTheme();
        if (palette is PaletteDark dark)
        {
            theme.PaletteDark = dark;
        }
        else
        {
            theme.PaletteLight = (PaletteLight)palette;
        }

        if (file.Typography?.FontFamily is { Length: > 0 } fonts)
        {
            theme.Typography.Default.FontFamily = fonts;
        }

        return new PortalTheme(file.Id, file.Name, file.Dark, file.Default, theme);
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private sealed class ThemeFile
    {
        public string Id { get; set; } = "";

        public string Name { get; set; } = "";

        public bool Dark { get; set; }

        public bool Default { get; set; }

        public Dictionary<string, string> Palette { get; set; } = [];

        public TypographyFile? Typography { get; set; }
    }

    private sealed class TypographyFile
    {
        public string[]? FontFamily { get; set; }
    }
}
