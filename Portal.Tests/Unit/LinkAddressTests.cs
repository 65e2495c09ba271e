namespace Portal.Tests.Unit;

public sealed class LinkAddressTests
{
    [Theory]
    [InlineData("child.example.com", "https://child.example.com/")]
    [InlineData("child.example.com:2087", "https://child.example.com:2087/")]
    [InlineData("https://child.example.com:2087", "https://child.example.com:2087/")]
    [InlineData("https://child.example.com/portal", "https://child.example.com/portal/")]
    [InlineData("  mail-1.example.net  ", "https://mail-1.example.net/")]
    public void HostNamesAndUrls_BecomeABaseUrl(string address, string expected)
    {
        var problems = new List<string>();

        var uri = NodeLinkService.ParseAddress(address, allowInsecureHttp: false, problems);

        Assert.Empty(problems);
        Assert.Equal(expected, uri!.ToString());
    }

    [Theory]
    [InlineData("10.0.0.5", "bare IP address")]
    [InlineData("https://10.0.0.5:2087", "bare IP address")]
    [InlineData("[2001:db8::1]", "bare IP address")]
    [InlineData("http://child.example.com", "for development only")]
    [InlineData("https://admin:secret@child.example.com", "may not carry")]
    [InlineData("", "Give the child's host name")]
    public void BadAddresses_AreRefusedWithAReason(string address, string reason)
    {
        var problems = new List<string>();

        var uri = NodeLinkService.ParseAddress(address, allowInsecureHttp: false, problems);

        Assert.Null(uri);
        Assert.Contains(reason, Assert.Single(problems));
    }

    [Fact]
    public void PlainHttp_IsAllowedOnlyWithTheDevelopmentSetting()
    {
        var problems = new List<string>();

        Assert.Equal("http://localhost:5081/", NodeLinkService.ParseAddress("http://localhost:5081", allowInsecureHttp: true, problems)!.ToString());
        Assert.Empty(problems);
    }

    [Theory]
    [InlineData("1.0.0", 1, 0, 0)]
    [InlineData("1.2.3+abcdef", 1, 2, 3)]
    [InlineData("2.0.0-beta.1", 2, 0, 0)]
    public void Versions_AreParsedFromTheBuild(string text, int major, int minor, int patch) =>
        Assert.Equal(new NodeVersion(major, minor, patch), NodeVersion.Parse(text));

    [Theory]
    [InlineData("1.0")]
    [InlineData("x.y.z")]
    [InlineData("")]
    public void BadVersions_AreNotVersions(string text) => Assert.False(NodeVersion.TryParse(text, out _));
}
