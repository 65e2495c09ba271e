namespace Portal.Tests.Unit;

public sealed class SettingsValidatorTests
{
    private static IReadOnlyList<string> Validate(Action<PortalSettings> change)
    {
        var settings = new PortalSettings { MailRoot = "/var/lib/portal/mail" };
        change(settings);
        var result = new PortalSettingsValidator().Validate(null, settings);
        return result.Failed ? result.Failures!.ToList() : [];
    }

    [Fact]
    public void Defaults_AreValid() => Assert.Empty(Validate(_ => { }));

    [Theory]
    [InlineData("https://evil.example/path", "not an origin")]
    [InlineData("panel.example.com", "not an origin")]
    public void AllowedOrigins_MustBeOrigins(string origin, string message) =>
        Assert.Contains(Validate(s => s.Security.AllowedOrigins.Add(origin)), f => f.Contains(message, StringComparison.Ordinal));

    [Theory]
    [InlineData("proxy.example.com", false)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("10.0.0.5", true)]
    [InlineData("10.0.0.0/24", true)]
    [InlineData("2001:db8::/32", true)]
    public void TrustedProxies_AreAddressesOrNetworks(string proxy, bool valid)
    {
        var failures = Validate(s => s.Security.TrustedProxies.Add(proxy));

        Assert.Equal(valid, !failures.Any(f => f.Contains("TrustedProxies", StringComparison.Ordinal)));
    }

    [Fact]
    public void PlainHttpPublicUrl_IsAllowedOnlyWithTheDevelopmentSetting()
    {
        Assert.NotEmpty(Validate(s => s.PublicUrl = "http://localhost:5080"));
        Assert.Empty(Validate(s =>
        {
            s.PublicUrl = "http://localhost:5080";
            s.AllowInsecureHttp = true;
        }));
    }

    [Fact]
    public void OutOfRangeNumbers_NameTheSettingAndItsRange()
    {
        var failures = Validate(s =>
        {
            s.Distribution.ChildAccountRetention = TimeSpan.Zero;
            s.Security.MaxFailedSignIns = 0;
            s.SelfCheck.DiskProbeBytes = 10;
        });

        Assert.Contains(failures, f => f.StartsWith("Portal:Distribution:ChildAccountRetention must be between 00:00:01 and 365.00:00:00", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Portal:Security:MaxFailedSignIns must be between 1 and 100", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Portal:SelfCheck:DiskProbeBytes must be between", StringComparison.Ordinal));
    }

    [Fact]
    public void BootstrapAdminName_MustBeAValidUserName() =>
        Assert.Contains(Validate(s => s.Bootstrap.AdminUserName = "Admin User"), f => f.Contains("Portal:Bootstrap:AdminUserName", StringComparison.Ordinal));
}
