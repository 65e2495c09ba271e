using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using OtpNet;

namespace Portal.Tests.Integration;

/// <summary>
/// Two-factor sign-in as a person goes through it in the browser (the real pages and forms): setting it up with an
/// authenticator app, signing in with a code or a recovery code once, turning it off with the password; and a node
/// that requires it of its admins.
/// </summary>
[Collection(PortalAppCollection.Name)]
public sealed partial class TwoFactorTests(PortalAppFixture app)
{
    [Fact]
    public async Task AUserTurnsItOn_ThenSignsInWithPasswordAndAppCode_OrWithARecoveryCodeOnce()
    {
        var (name, password) = await app.CreateUserAsync(PortalRoles.Reseller, "tfa");
        using var browser = app.CreateClient();
        await browser.SignInAsync(name, password);

        var key = await KeyAsync(browser);
        var wrong = await PostFormAsync(browser, "auth/two-factor/manage", "enable", new() { ["Enable.Code"] = "000000" });
        Assert.Contains("That code is not the one the app shows now", Text(wrong));
        var enabled = await PostFormAsync(browser, "auth/two-factor/manage", "enable", new() { ["Enable.Code"] = Code(key) });
        var recoveryCodes = RecoveryCodePattern().Matches(enabled).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(TwoFactorService.RecoveryCodeCount, recoveryCodes.Count);
        // The session that turned it on goes on (its cookie was renewed with the new security stamp).
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("reseller")).StatusCode);

        // Signing in again: the password alone leads to the second step, not into the panel.
        using var next = app.CreateClient();
        var step = await next.PostSignInAsync(name, password);
        Assert.Equal("/auth/two-factor", step.RedirectPath(next));
        Assert.Equal(HttpStatusCode.Redirect, (await next.GetAsync("reseller")).StatusCode);
        var refused = await PostFormAsync(next, "auth/two-factor", "two-factor", new() { ["Input.Code"] = "123456" });
        Assert.Contains("That code is not right", Text(refused));
        var signedIn = await PostFormResponseAsync(next, "auth/two-factor", "two-factor", new() { ["Input.Code"] = Code(key) });
        Assert.Equal("/", signedIn.RedirectPath(next));
        Assert.Equal(HttpStatusCode.OK, (await next.GetAsync("reseller")).StatusCode);

        // A recovery code works once.
        using (var lostPhone = app.CreateClient())
        {
            await lostPhone.PostSignInAsync(name, password);
            var recovered = await PostFormResponseAsync(lostPhone, "auth/two-factor?recovery=1", "two-factor", new() { ["Input.Code"] = recoveryCodes[0] });
            Assert.Equal("/", recovered.RedirectPath(lostPhone));
        }

        using var again = app.CreateClient();
        await again.PostSignInAsync(name, password);
        var reused = await PostFormAsync(again, "auth/two-factor?recovery=1", "two-factor", new() { ["Input.Code"] = recoveryCodes[0] });
        Assert.Contains("That recovery code is not right, or was used already", Text(reused));
    }

    [Fact]
    public async Task TurningItOff_TakesThePassword_AndAWrongOneCountsTowardsTheLockout()
    {
        var (name, password) = await app.CreateUserAsync(PortalRoles.Reseller, "tfo");
        await using var scope = app.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var twoFactor = scope.ServiceProvider.GetRequiredService<TwoFactorService>();
        var user = (await users.FindByNameAsync(name))!;
        var actor = PortalAppFixture.ActorFor(name, PortalRoles.Reseller) with { UserId = user.Id };
        var setup = await twoFactor.SetupAsync(actor);
        await twoFactor.EnableAsync(actor, Code(setup.SharedKey));

        var wrong = await Assert.ThrowsAsync<PortalValidationException>(() => twoFactor.DisableAsync(actor, password + "x"));

        Assert.Equal("two_factor.wrong_password", wrong.Code);
        Assert.Equal(1, await users.GetAccessFailedCountAsync((await users.FindByNameAsync(name))!));
        Assert.True((await twoFactor.StatusAsync(actor)).Enabled);
        await twoFactor.DisableAsync(actor, password);
        Assert.False((await twoFactor.StatusAsync(actor)).Enabled);
        // The next set-up gets a new key: the old app entry is useless.
        Assert.NotEqual(setup.SharedKey, (await twoFactor.SetupAsync(actor)).SharedKey);
    }

    [Fact]
    public async Task AnAdminResetsALostAuthenticator_AResellerCannot()
    {
        var (name, _) = await app.CreateUserAsync(PortalRoles.Reseller, "tfr");
        var (other, _) = await app.CreateUserAsync(PortalRoles.Reseller, "tfx");
        await using var scope = app.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var twoFactor = scope.ServiceProvider.GetRequiredService<TwoFactorService>();
        var actor = PortalAppFixture.ActorFor(name, PortalRoles.Reseller) with { UserId = (await users.FindByNameAsync(name))!.Id };
        await twoFactor.EnableAsync(actor, Code((await twoFactor.SetupAsync(actor)).SharedKey));

        await Assert.ThrowsAsync<PortalForbiddenException>(() => twoFactor.ResetAsync(PortalAppFixture.ActorFor(other, PortalRoles.Reseller), name));
        Assert.True((await twoFactor.StatusAsync(actor)).Enabled);
        await twoFactor.ResetAsync(PortalAppFixture.Admin, name);
        Assert.False((await twoFactor.StatusAsync(actor)).Enabled);
    }

    [Fact]
    public async Task OnANodeThatRequiresIt_AnAdminIsSentToSetItUpBeforeAnyAdminPage_AndCannotTurnItOff_WhileTokensWorkOn()
    {
        await using var node = await PortalNode.StartAsync("tfreq", new Dictionary<string, string> { ["Portal:Security:RequireTwoFactorForAdmins"] = "true" });
        using var browser = PortalHttp.CreateClient(node.BaseUrl);
        await browser.SignInAsync(PortalNode.AdminUserName, node.AdminPassword);

        foreach (var page in new[] { "admin", "admin/users", "hangfire" })
        {
            var sent = await browser.GetAsync(page);
            Assert.Equal("/auth/two-factor/manage?required=1", sent.RedirectPath(browser));
        }

        Assert.Contains("requires administrators to sign in with a second factor", Text(await browser.GetStringAsync("auth/two-factor/manage?required=1")));
        // Nor can it view the panel as a customer meanwhile (a way round the admin pages it is kept from).
        (await node.Api.PostAsync("api/v1/users", new { userName = "viewme", role = "Reseller" })).Expect(HttpStatusCode.Created);
        var viewAs = await browser.PostAsync("auth/view-as", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["user"] = "viewme",
            ["__RequestVerificationToken"] = await PortalHttp.GetAntiforgeryTokenAsync(browser, "auth/two-factor/manage?required=1"),
        }));
        Assert.Equal("/admin/users?view_as=refused", viewAs.RedirectPath(browser));
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync("reseller")).StatusCode);
        // The API is for scripts, with tokens: unaffected.
        (await node.Api.GetAsync("api/v1/accounts")).Expect(HttpStatusCode.OK);

        var key = await KeyAsync(browser);
        await PostFormAsync(browser, "auth/two-factor/manage", "enable", new() { ["Enable.Code"] = Code(key) });
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("admin")).StatusCode);
        var manage = Text(await browser.GetStringAsync("auth/two-factor/manage"));
        Assert.Contains("so it stays on", manage);
        Assert.DoesNotContain("Turn off two-factor sign-in", manage);
    }

    private static string Code(string sharedKey) =>
        new Totp(Base32Encoding.ToBytes(sharedKey.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant())).ComputeTotp();

    private static async Task<string> KeyAsync(HttpClient browser)
    {
        var page = await browser.GetStringAsync("auth/two-factor/manage");
        return KeyPattern().Match(page) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException("No authenticator key on the page:\n" + page);
    }

    private static async Task<HttpResponseMessage> PostFormResponseAsync(HttpClient client, string path, string handler, Dictionary<string, string> fields)
    {
        var token = await PortalHttp.GetAntiforgeryTokenAsync(client, path);
        fields["_handler"] = handler;
        fields["__RequestVerificationToken"] = token;
        return await client.PostAsync(path, new FormUrlEncodedContent(fields));
    }

    private static async Task<string> PostFormAsync(HttpClient client, string path, string handler, Dictionary<string, string> fields)
    {
        var response = await PostFormResponseAsync(client, path, handler, fields);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static string Text(string html) => WebUtility.HtmlDecode(html);

    [GeneratedRegex("data-testid=\"two-factor-key\">([^<]+)<")]
    private static partial Regex KeyPattern();

    [GeneratedRegex("<li><code>([^<]+)</code></li>")]
    private static partial Regex RecoveryCodePattern();
}
