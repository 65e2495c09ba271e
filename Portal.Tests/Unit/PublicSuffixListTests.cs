namespace Portal.Tests.Unit;

/// <summary>The Public Suffix List as Debian ships it (the test command installs the publicsuffix package).</summary>
public sealed class PublicSuffixListTests
{
    private static readonly Lazy<PublicSuffixList> Debian = new(() => PublicSuffixList.Load(new DnsSettings().PublicSuffixList));

    [Theory]
    [InlineData("com", true)]
    [InlineData("co.uk", true)]
    [InlineData("github.io", true)]
    [InlineData("xn--55qx5d.cn", true)] // 公司.cn, as the node stores it
    [InlineData("anything.kawasaki.jp", true)] // *.kawasaki.jp
    [InlineData("city.kawasaki.jp", false)] // !city.kawasaki.jp
    [InlineData("example.co.uk", false)]
    [InlineData("example.com", false)]
    [InlineData("user.github.io", false)]
    public void KnowsTheSuffixesAnyoneMayRegisterUnder(string domain, bool suffix) =>
        Assert.Equal(suffix, Debian.Value.IsPublicSuffix(domain));

    [Fact]
    public void IsTheWholeList() => Assert.True(Debian.Value.RuleCount > 5000, $"{Debian.Value.RuleCount} rules");

    [Fact]
    public void AMissingList_IsASettingsErrorThatSaysWhatToInstall()
    {
        var settings = new PortalSettings { MailRoot = "/var/lib/portal/mail" };
        settings.Dns.PublicSuffixList = "/nonexistent/public_suffix_list.dat";

        var failures = new PortalSettingsValidator().Validate(null, settings).Failures!;

        Assert.Contains(failures, f => f.Contains("apt-get install publicsuffix", StringComparison.Ordinal));
    }
}
