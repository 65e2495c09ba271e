using System.Security.Claims;

namespace Portal.Tests.Integration;

/// <summary>
/// The services enforce an account's features (Email, Forwarders, Webmail) and its suspension for mail changes, whoever
/// calls them: a page, the API, or a session opened before the change.
/// </summary>
[Collection(PortalAppCollection.Name)]
public sealed class AccountFeatureTests(PortalAppFixture app)
{
    private const string Password = "owner-Kq7vZp3xWm9t-feat";

    private MailFunctions Mail => app.Services.GetRequiredService<MailFunctions>();

    private async Task<(string Name, Actor Owner)> AccountAsync(params string[] features)
    {
        var name = "af" + Guid.NewGuid().ToString("N")[..8];
        await app.Services.GetRequiredService<AccountService>().CreateAsync(PortalAppFixture.Admin,
            new NewAccount(name, $"{name}.example.test", $"o@{name}.example.test", Password: Password, Features: features));
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        var userId = await db.Users.Where(u => u.UserName == name).Select(u => u.Id).SingleAsync();
        var owner = new Actor(userId, name, "127.0.0.1", new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, userId), new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, PortalRoles.User)], "test")));
        return (name, owner);
    }

    [Fact]
    public async Task WithoutTheEmailFeature_NoMailboxIsCreatedChangedOrRemoved_ByTheOwnerOrAnAdmin()
    {
        var (name, owner) = await AccountAsync(AccountFeatures.ApiTokens, AccountFeatures.Forwarders);

        var byOwner = await Assert.ThrowsAsync<PortalForbiddenException>(() => Mail.CreateAsync(owner, name, new NewEmailAccount("alice", "alice-Kq7vZp3xWm9t", null)));
        var byAdmin = await Assert.ThrowsAsync<PortalForbiddenException>(() => Mail.CreateAsync(PortalAppFixture.Admin, name, new NewEmailAccount("alice", "alice-Kq7vZp3xWm9t", null)));

        Assert.Equal("account.feature_off", byOwner.Code);
        Assert.Contains("Ask your hosting provider to turn it on", byOwner.Message);
        Assert.Contains("turn it on (Modify account, Features) first", byAdmin.Message);
        Assert.Empty(await Mail.ListAsync(owner, name));
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        Assert.True(await db.AuditEntries.AnyAsync(e => e.Action == "email.create" && e.Target == name && e.Outcome == AuditOutcome.Refused));
    }

    [Fact]
    public async Task WithoutTheForwardersFeature_NoForwarderIsAdded()
    {
        var (name, owner) = await AccountAsync(AccountFeatures.ApiTokens, AccountFeatures.Email);

        var refused = await Assert.ThrowsAsync<PortalForbiddenException>(() => Mail.AddForwarderAsync(owner, name, new NewForwarder("sales", $"o@{name}.example.test", false)));

        Assert.Equal("account.feature_off", refused.Code);
        Assert.Empty(await Mail.ListForwardersAsync(owner, name));
    }

    [Fact]
    public async Task ASuspendedAccountsOwner_CannotChangeMail_WhileItsProviderStillCan()
    {
        var (name, owner) = await AccountAsync([.. AccountFeatures.All]);
        await Mail.CreateAsync(owner, name, new NewEmailAccount("alice", "alice-Kq7vZp3xWm9t", null));
        await app.Services.GetRequiredService<AccountService>().ModifyAsync(PortalAppFixture.Admin, name, new AccountChange(Status: AccountStatus.Suspended, SuspensionReason: "Invoice 42 is unpaid."));

        var refused = await Assert.ThrowsAsync<PortalForbiddenException>(() => Mail.ChangePasswordAsync(owner, name, $"alice@{name}.example.test", "alice-Kq7vZp3xWm9t-new"));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => Mail.DeleteAsync(owner, name, $"alice@{name}.example.test"));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => Mail.AddForwarderAsync(owner, name, new NewForwarder("sales", $"alice@{name}.example.test", false)));

        Assert.Equal("account.suspended", refused.Code);
        Assert.Contains("Invoice 42 is unpaid.", refused.Message);
        // What is there stays readable, and the provider can still act on the account.
        Assert.Single(await Mail.ListAsync(owner, name));
        await Mail.ChangePasswordAsync(PortalAppFixture.Admin, name, $"alice@{name}.example.test", "alice-Kq7vZp3xWm9t-adm");
    }

    [Fact]
    public async Task WithoutTheWebmailFeature_TheOwnerIsNotSentToWebmail_AndIsToldWhy()
    {
        var (name, _) = await AccountAsync(AccountFeatures.ApiTokens, AccountFeatures.Email);
        using var client = app.CreateClient();
        await client.SignInAsync(name, Password);

        var response = await client.GetAsync("/webmail");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("feature is off for your account", WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()));
    }
}
