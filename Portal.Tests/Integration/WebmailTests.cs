using Portal.Components.Accounts;

namespace Portal.Tests.Integration;

/// <summary>An account owner's webmail entry point sends them where their mail is read.</summary>
[Collection(PortalAppCollection.Name)]
public sealed class WebmailTests(PortalAppFixture app)
{
    [Fact]
    public async Task AnOwnerWithLocalMail_IsSentToThisNodesWebmail_ForTheirDomain()
    {
        var name = "wm" + Guid.NewGuid().ToString("N")[..8];
        const string password = "owner-Kq7vZp3xWm9t";
        await app.Services.GetRequiredService<AccountService>().CreateAsync(PortalAppFixture.Admin, new NewAccount(name, $"{name}.example.test", $"o@{name}.example.test", Password: password));
        using var client = app.CreateClient();
        await client.SignInAsync(name, password);

        var response = await client.GetAsync("/webmail");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal($"https://mail.example.net/?domain={name}.example.test", response.Headers.Location!.ToString());
    }

    [Fact]
    public async Task Webmail_IsForAccountOwners()
    {
        using var anonymous = app.CreateClient();
        Assert.Equal(HttpStatusCode.Redirect, (await anonymous.GetAsync("/webmail")).StatusCode);
        Assert.StartsWith("/auth/signin", (await anonymous.GetAsync("/webmail")).RedirectPath(anonymous));
    }

    [Theory]
    [InlineData(true, "https://webmail.{domain}/", null, "https://webmail.shop.example/")]
    [InlineData(true, null, null, "https://webmail.shop.example/")]
    [InlineData(false, "https://mail.host.example/?d={domain}", "/usr/sbin/nginx", "https://mail.host.example/?d=shop.example")]
    [InlineData(false, null, "/usr/sbin/nginx", "https://webmail.shop.example/")]
    [InlineData(false, null, null, null)]
    public void TheAddress_FollowsWhereTheMailLives(bool distributed, string? configured, string? nginx, string? expected)
    {
        var row = new AccountRow("shop", "shop.example", "shop.example", "o@shop.example", "root", distributed ? Guid.NewGuid() : null, distributed ? "mail-1" : null,
            AccountStatus.Active, 0, false, [], DateTimeOffset.UtcNow);

        Assert.Equal(expected, WebmailEndpoint.WebmailAddress(row, new MailSettings { WebmailUrl = configured, Nginx = nginx }));
    }

    [Fact]
    public async Task AnOwnerWithoutTheWebmailFeature_GetsAPageSayingWhy_ThatFitsAPhone()
    {
        var name = "wn" + Guid.NewGuid().ToString("N")[..8];
        const string password = "owner-Kq7vZp3xWm9t";
        await app.Services.GetRequiredService<AccountService>().CreateAsync(PortalAppFixture.Admin,
            new NewAccount(name, $"{name}.example.test", $"o@{name}.example.test", Password: password, Features: [AccountFeatures.Email]));
        using var client = app.CreateClient();
        await client.SignInAsync(name, password);

        var response = await client.GetAsync("/webmail");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains("The &quot;Webmail&quot; feature is off for your account", page, StringComparison.Ordinal);
        Assert.Contains("name=\"viewport\"", page, StringComparison.Ordinal);
        Assert.Contains("<style>", page, StringComparison.Ordinal);
    }
}
