using System.Net.Http.Headers;

namespace Portal.Tests.Integration;

/// <summary>An account owner has API tokens of their own while the account has the "API Tokens" feature.</summary>
[Collection(PortalAppCollection.Name)]
public sealed class OwnerApiTokenTests(PortalAppFixture app)
{
    [Fact]
    public async Task AnOwnersToken_WorksWhileTheFeatureIsOn_AndIsRefusedOnceItIsOff()
    {
        var (owner, username) = await OwnerAsync([AccountFeatures.ApiTokens, AccountFeatures.Email]);
        var tokens = app.Services.GetRequiredService<ApiTokenService>();
        var created = await tokens.CreateAsync(owner, ApiTokenKind.User, "my script", null);
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.Secret);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/accounts/{username}/mail/addresses")).StatusCode);
        await app.Services.GetRequiredService<AccountService>().ModifyAsync(PortalAppFixture.Admin, username, new AccountChange(Features: [AccountFeatures.Email]));
        var refused = await client.GetAsync($"/api/v1/accounts/{username}/mail/addresses");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("token.feature_off", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AToken_UsedAMomentAgo_IsRefusedAtTheNextCallOnceRevoked_OrItsOwnerLocked()
    {
        var tokens = app.Services.GetRequiredService<ApiTokenService>();
        var (owner, username) = await OwnerAsync([AccountFeatures.ApiTokens]);
        var (other, otherName) = await OwnerAsync([AccountFeatures.ApiTokens]);
        var revoked = await tokens.CreateAsync(owner, ApiTokenKind.User, "revoked soon", null);
        var locked = await tokens.CreateAsync(other, ApiTokenKind.User, "owner locked soon", null);
        using var client = app.CreateClient();
        using var lockedClient = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", revoked.Secret);
        lockedClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", locked.Secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/accounts/{username}/mail/addresses")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await lockedClient.GetAsync($"/api/v1/accounts/{otherName}/mail/addresses")).StatusCode);

        await tokens.RevokeAsync(owner, revoked.Token.Id);
        await app.Services.GetRequiredService<UserAdminService>().SetLockedAsync(PortalAppFixture.Admin, other.UserId!, locked: true);
        var afterRevocation = await client.GetAsync($"/api/v1/accounts/{username}/mail/addresses");
        var afterLock = await lockedClient.GetAsync($"/api/v1/accounts/{otherName}/mail/addresses");

        Assert.Equal(HttpStatusCode.Unauthorized, afterRevocation.StatusCode);
        Assert.Contains("token.revoked", await afterRevocation.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, afterLock.StatusCode);
    }

    [Fact]
    public async Task AnOwnerWithoutTheFeature_CannotCreateAToken()
    {
        var (owner, _) = await OwnerAsync([AccountFeatures.Email]);

        var refused = await Assert.ThrowsAsync<PortalForbiddenException>(() => app.Services.GetRequiredService<ApiTokenService>().CreateAsync(owner, ApiTokenKind.User, "nope", null));

        Assert.Contains("\"API Tokens\" feature is off", refused.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<PortalForbiddenException>(() => app.Services.GetRequiredService<ApiTokenService>().CreateAsync(owner, ApiTokenKind.Node, "node", null));
    }

    private async Task<(Actor Owner, string Username)> OwnerAsync(IReadOnlyList<string> features)
    {
        var username = "ot" + Guid.NewGuid().ToString("N")[..8];
        await app.Services.GetRequiredService<AccountService>().CreateAsync(PortalAppFixture.Admin,
            new NewAccount(username, $"{username}.example.test", $"o@{username}.example.test", Password: "owner-Kq7vZp3xWm9t", Features: features));
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        var userId = db.Users.Single(u => u.UserName == username).Id;
        var actor = new Actor(userId, username, "127.0.0.1", new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
            [new(System.Security.Claims.ClaimTypes.NameIdentifier, userId), new(System.Security.Claims.ClaimTypes.Name, username), new(System.Security.Claims.ClaimTypes.Role, PortalRoles.User)], "test")));
        return (actor, username);
    }
}
