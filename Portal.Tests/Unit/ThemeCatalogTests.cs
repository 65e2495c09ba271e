using Portal.Features.Themes;
using Portal.Tests.Support;

namespace Portal.Tests.Unit;

public sealed class ThemeCatalogTests
{
    private static string ThemesFolder => Path.Combine(TestEnvironment.RepositoryRoot, "wwwroot-themes");

    [Fact]
    public void RepositoryThemes_LoadWithOneDefault()
    {
        var catalog = ThemeCatalog.LoadFrom(ThemesFolder);

        Assert.Equal(["dark", "high-contrast", "light"], catalog.Themes.Select(t => t.Id).Order());
        Assert.Equal("light", catalog.Default.Id);
        Assert.True(catalog.Resolve("high-contrast").IsDark);
        Assert.Equal("#FFFF00FF", catalog.Resolve("high-contrast").Theme.PaletteDark.Primary.Value.ToUpperInvariant());
        Assert.Same(catalog.Default, catalog.Resolve("no-such-theme"));
    }

    [Fact]
    public void UnknownPaletteKey_IsRefusedNamingTheFileAndKey()
    {
        var path = WriteTheme("""{ "id": "x", "name": "X", "palette": { "primaryy": "#123456" } }""");

        var error = Assert.Throws<InvalidOperationException>(() => ThemeCatalog.Parse(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("\"primaryy\" is not a palette colour", error.Message);
    }

    [Fact]
    public void BadColour_IsRefused()
    {
        var path = WriteTheme("""{ "id": "x", "name": "X", "palette": { "primary": "bluish" } }""");

        var error = Assert.Throws<InvalidOperationException>(() => ThemeCatalog.Parse(path));

        Assert.Contains("is not a colour", error.Message);
    }

    [Fact]
    public void MissingFolder_SaysWhichSettingToChange()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ThemeCatalog.LoadFrom("/nonexistent/themes"));

        Assert.Contains("Portal:ThemesPath", error.Message);
    }

    private static string WriteTheme(string json)
    {
        var path = Path.Combine(TestEnvironment.RunFolder, $"theme-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
