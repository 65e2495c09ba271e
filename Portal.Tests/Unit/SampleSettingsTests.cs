using Microsoft.Extensions.Configuration;

namespace Portal.Tests.Unit;

/// <summary>appsettings.sample.json documents every setting: it must bind, validate, and miss none.</summary>
public sealed class SampleSettingsTests
{
    private static IConfigurationRoot Sample => new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(TestEnvironment.RepositoryRoot, "appsettings.sample.json"))
        .Build();

    [Fact]
    public void Sample_BindsAndValidates()
    {
        var settings = Sample.GetSection(PortalSettings.Section).Get<PortalSettings>(o => o.ErrorOnUnknownConfiguration = true)!;

        var result = new PortalSettingsValidator().Validate(null, settings);

        Assert.True(result.Succeeded, string.Join("; ", result.Failures ?? []));
        Assert.False(string.IsNullOrEmpty(Sample.GetConnectionString("Portal")));
    }

    [Fact]
    public void Sample_MentionsEverySetting()
    {
        var keys = Sample.AsEnumerable().Select(kv => kv.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var missing = SettingPaths(typeof(PortalSettings), PortalSettings.Section).Where(p => !keys.Contains(p)).ToList();

        Assert.Empty(missing);
    }

    private static IEnumerable<string> SettingPaths(Type type, string prefix)
    {
        foreach (var property in type.GetProperties().Where(p => p.CanWrite))
        {
            var path = $"{prefix}:{property.Name}";
            var t = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (t.IsClass && t != typeof(string) && !t.IsGenericType)
            {
                foreach (var nested in SettingPaths(t, path))
                {
                    yield return nested;
                }
            }
            else
            {
                yield return path;
            }
        }
    }
}
