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

    /// <summary>
    /// Text on every filled colour (buttons, chips, alerts) reads at WCAG AA's 4.5:1 in each theme. (The dark theme's
    /// white on light blue measured 2.42:1, its status chips 2.36:1.)
    /// </summary>
    [Theory]
    [InlineData("light")]
    [InlineData("dark")]
    [InlineData("high-contrast")]
    public void TextOnEveryFilledColour_MeetsWcagAa(string id)
    {
        var theme = ThemeCatalog.LoadFrom(ThemesFolder).Resolve(id);
        MudBlazor.Palette palette = theme.IsDark ? theme.Theme.PaletteDark : theme.Theme.PaletteLight;
        var pairs = new (string Name, MudBlazor.Utilities.MudColor Fill, MudBlazor.Utilities.MudColor Text)[]
        {
            ("primary", palette.Primary, palette.PrimaryContrastText),
            ("secondary", palette.Secondary, palette.SecondaryContrastText),
            ("tertiary", palette.Tertiary, palette.TertiaryContrastText),
            ("info", palette.Info, palette.InfoContrastText),
            ("success", palette.Success, palette.SuccessContrastText),
            ("warning", palette.Warning, palette.WarningContrastText),
            ("error", palette.Error, palette.ErrorContrastText),
            ("body text", palette.Surface, palette.TextPrimary),
            ("app bar", palette.AppbarBackground, palette.AppbarText),
        };

        var poor = pairs.Select(p => (p.Name, Ratio: Contrast(p.Fill, p.Text))).Where(p => p.Ratio < 4.5).Select(p => $"{p.Name} {p.Ratio:0.00}:1").ToList();

        Assert.True(poor.Count == 0, $"{id}: {string.Join(", ", poor)}");
    }

    /// <summary>WCAG 2's contrast ratio of two colours.</summary>
    private static double Contrast(MudBlazor.Utilities.MudColor a, MudBlazor.Utilities.MudColor b)
    {
        static double Channel(byte c) => c / 255d <= 0.03928 ? c / 255d / 12.92 : Math.Pow((c / 255d + 0.055) / 1.055, 2.4);
        static double Luminance(MudBlazor.Utilities.MudColor c) => 0.2126 * Channel(c.R) + 0.7152 * Channel(c.G) + 0.0722 * Channel(c.B);
        var (light, dark) = (Math.Max(Luminance(a), Luminance(b)), Math.Min(Luminance(a), Luminance(b)));
        return (light + 0.05) / (dark + 0.05);
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
