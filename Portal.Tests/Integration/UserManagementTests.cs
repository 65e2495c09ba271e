using System.Security.Claims;
using Microsoft.AspNetCore.Identity;

namespace Portal.Tests.Integration;

/// <summary>An admin changes a user's email or role, deletes them, and views the panel as them.</summary>
[Collection(PortalAppCollection.Name)]
public sealed class UserManagementTests(PortalAppFixture app)
{
    private UserAdminService Users => app.Services.GetRequiredService<UserAdminService>();

    [Fact]
    public async Task AnAdmin_ChangesAUsersEmailAndRole_TheyNextSignInToTheirNewArea_AndTheirSessionsEnd()
    {
        var (name, password) = await app.CreateUserAsync(PortalRoles.User, "promo");
        var stampBefore = await StampAsync(name);

        var row = await Users.UpdateAsync(PortalAppFixture.Admin, name, new UserChange("new@example.com", PortalRoles.Reseller));

        Assert.Equal(PortalRoles.Reseller, row.Role);
        Assert.Equal("new@example.com", row.Email);
        var listed = (await Users.ListAsync(PortalAppFixture.Admin, new UserQuery(name))).Items.Single();
        Assert.Equal((PortalRoles.Reseller, "new@example.com"), (listed.Role, listed.Email));
        Assert.NotEqual(stampBefore, await StampAsync(name));
        var entry = await LastAuditAsync("user.update", name);
        Assert.Equal(AuditOutcome.Succeeded, entry.Outcome);
        Assert.Contains("role User → Reseller", entry.Details);
        using var client = app.CreateClient();
        await client.SignInAsync(name, password);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/reseller")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/account")).StatusCode);

        await Users.UpdateAsync(PortalAppFixture.Admin, name, new UserChange(Email: ""));
        Assert.Null((await Users.ListAsync(PortalAppFixture.Admin, new UserQuery(name))).Items.Single().Email);
    }

    [Fact]
    public async Task ARoleChange_ThatWouldBreakWhatTheUserHolds_OrABadEmail_OrAnAdminsChange_IsRefusedSayingWhatToDo()
    {
        var owner = await OwnerAsync();
        var (reseller, _) = await app.CreateUserAsync(PortalRoles.Reseller, "hasacc");
        await app.Services.GetRequiredService<AccountService>().CreateAsync(PortalAppFixture.Admin,
            new NewAccount(AccountsFixture.NewName("ra"), AccountsFixture.NewName("rad") + ".example.test", "o@example.test", Owner: reseller));

        var ownerRefusal = await Assert.ThrowsAsync<PortalValidationException>(() => Users.UpdateAsync(PortalAppFixture.Admin, owner, new UserChange(Role: PortalRoles.Reseller)));
        var resellerRefusal = await Assert.ThrowsAsync<PortalValidationException>(() => Users.UpdateAsync(PortalAppFixture.Admin, reseller, new UserChange(Role: PortalRoles.User)));
        var badEmail = await Assert.ThrowsAsync<PortalValidationException>(() => Users.UpdateAsync(PortalAppFixture.Admin, reseller, new UserChange("not-mail")));
        var toAdmin = await Assert.ThrowsAsync<PortalValidationException>(() => Users.UpdateAsync(PortalAppFixture.Admin, reseller, new UserChange(Role: PortalRoles.Admin)));
        var anAdmin = await Assert.ThrowsAsync<PortalValidationException>(() => Users.UpdateAsync(PortalAppFixture.Admin, PortalAppFixture.AdminUserName, new UserChange("a@example.com")));
        await Assert.ThrowsAsync<PortalNotFoundException>(() => Users.UpdateAsync(PortalAppFixture.Admin, "nobody-here", new UserChange("a@example.com")));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => Users.UpdateAsync(PortalAppFixture.ActorFor(reseller, PortalRoles.Reseller), owner, new UserChange("a@example.com")));

        Assert.Contains($"signs in to account {owner}, so they stay a user", ownerRefusal.Message);
        Assert.Contains("owns 1 account(s), so they stay a reseller", resellerRefusal.Message);
        Assert.Contains("is not an email address", badEmail.Message);
        Assert.Contains("The role must be one of", toAdmin.Message);
        Assert.Contains("is an admin; only resellers and users are changed here", anAdmin.Message);
        Assert.Equal(AuditOutcome.Refused, (await LastAuditAsync("user.update", owner)).Outcome);
        Assert.Equal(AuditOutcome.Refused, (await LastAuditAsync("user.update", reseller)).Outcome);
        var unchanged = (await Users.ListAsync(PortalAppFixture.Admin, new UserQuery(reseller))).Items.Single();
        Assert.Equal((PortalRoles.Reseller, null), (unchanged.Role, unchanged.Email));
    }

    [Fact]
    public async Task ADeletedUser_CannotSignIn_TheirTokensGo_AndTheAuditSaysSo()
    {
        var (name, password) = await app.CreateUserAsync(PortalRoles.Reseller, "gone");
        var actor = await ActorOfAsync(name, PortalRoles.Reseller);
        await app.Services.GetRequiredService<ApiTokenService>().CreateAsync(actor, ApiTokenKind.User, "script", null);

        await Users.DeleteAsync(PortalAppFixture.Admin, name);

        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        Assert.False(await db.Users.AnyAsync(u => u.UserName == name));
        Assert.False(await db.ApiTokens.AnyAsync(t => t.OwnerUserId == actor.UserId));
        using var client = app.CreateClient();
        var signIn = await client.PostSignInAsync(name, password);
        Assert.StartsWith("/auth/", signIn.StatusCode == HttpStatusCode.Redirect ? signIn.RedirectPath(client) : "/auth/signin");
        var entry = await LastAuditAsync("user.delete", name);
        Assert.Equal(AuditOutcome.Succeeded, entry.Outcome);
        Assert.Contains("1 API token(s) revoked", entry.Details);
    }

    [Fact]
    public async Task AResellersAccounts_GoToRootWithIt_OnlyWhenAsked_AndAnOwnerGoesOnlyWithTheirAccount()
    {
        var owner = await OwnerAsync();
        var (reseller, _) = await app.CreateUserAsync(PortalRoles.Reseller, "giver");
        var account = AccountsFixture.NewName("rg");
        await app.Services.GetRequiredService<AccountService>().CreateAsync(PortalAppFixture.Admin,
            new NewAccount(account, account + ".example.test", "o@example.test", Owner: reseller));

        var withAccounts = await Assert.ThrowsAsync<PortalValidationException>(() => Users.DeleteAsync(PortalAppFixture.Admin, reseller));
        var anOwner = await Assert.ThrowsAsync<PortalValidationException>(() => Users.DeleteAsync(PortalAppFixture.Admin, owner));
        var admin = PortalAppFixture.Admin with { UserId = await AdminIdAsync() };
        var self = await Assert.ThrowsAsync<PortalValidationException>(() => Users.DeleteAsync(admin, PortalAppFixture.AdminUserName));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => Users.DeleteAsync(PortalAppFixture.ActorFor("r", PortalRoles.Reseller), owner));

        Assert.Contains("owns 1 account(s). Give them to root as you delete the reseller, or terminate them first", withAccounts.Message);
        Assert.Contains($"is the owner of account {owner}. Terminate the account instead", anOwner.Message);
        Assert.Contains("Your own account is not deleted here", self.Message);
        Assert.Equal(AuditOutcome.Refused, (await LastAuditAsync("user.delete", reseller)).Outcome);
        await using (var db = TestDatabases.OpenContext(app.ConnectionString))
        {
            Assert.True(await db.Users.AnyAsync(u => u.UserName == owner));
            Assert.Equal(reseller, await db.Accounts.Where(a => a.Username == account).Select(a => a.OwnerName).SingleAsync());
        }

        await Users.DeleteAsync(PortalAppFixture.Admin, reseller, accountsToRoot: true);

        await using (var db = TestDatabases.OpenContext(app.ConnectionString))
        {
            var given = await db.Accounts.Where(a => a.Username == account).Select(a => new { a.OwnerName, a.ResellerId }).SingleAsync();
            Assert.Equal(("root", (string?)null), (given.OwnerName, given.ResellerId));
        }

        Assert.Contains("1 account(s) given to root", (await LastAuditAsync("user.delete", reseller)).Details);
        var grid = await app.Services.GetRequiredService<AccountQueries>().FindAsync(PortalAppFixture.Admin, new AccountQuery(Username: account));
        Assert.Equal("root", grid.Items.Single().OwnerName);
    }

    [Fact]
    public async Task AnAdmin_ViewsThePanelAsAnOwner_MarkedOnEveryPage_WithTheOwnersRightsOnly_AndReturns()
    {
        var owner = await OwnerAsync();
        using var client = app.CreateClient();
        await client.SignInAsync(PortalAppFixture.AdminUserName, app.AdminPassword);

        var started = await PostFormAsync(client, "/admin/users", "/auth/view-as", new() { ["user"] = owner });

        Assert.Equal(HttpStatusCode.Redirect, started.StatusCode);
        Assert.Equal("/account", started.RedirectPath(client));
        var home = await client.GetStringAsync("/account");
        Assert.Contains("data-testid=\"view-as-banner\"", home);
        Assert.Contains($"{PortalAppFixture.AdminUserName} as {owner}", home);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/admin")).StatusCode);
        var begun = await LastAuditAsync("user.view_as", owner);
        Assert.Equal((AuditOutcome.Succeeded, PortalAppFixture.AdminUserName), (begun.Outcome, begun.ActorName));

        var ended = await PostFormAsync(client, "/account", "/auth/view-as/end", []);

        Assert.Equal("/admin/users?view_as=ended", ended.RedirectPath(client));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin")).StatusCode);
        Assert.DoesNotContain("view-as-banner", await client.GetStringAsync("/admin/users"));
        var end = await LastAuditAsync("user.view_as.end", owner);
        Assert.Equal((AuditOutcome.Succeeded, $"{PortalAppFixture.AdminUserName} as {owner}"), (end.Outcome, end.ActorName));
    }

    [Fact]
    public async Task InAViewAsSession_WhatOnlyTheUserMayDo_IsRefused_AndEveryEntryNamesTheAdmin()
    {
        var owner = await OwnerAsync();
        var viewing = ViewingAs(await ActorOfAsync(owner, PortalRoles.User), PortalAppFixture.AdminUserName);

        var token = await Assert.ThrowsAsync<PortalForbiddenException>(() => app.Services.GetRequiredService<ApiTokenService>().CreateAsync(viewing, ApiTokenKind.User, "mine now", null));
        var password = await Assert.ThrowsAsync<PortalForbiddenException>(() => app.Services.GetRequiredService<OwnPasswordService>().ChangeAsync(viewing, new OwnPasswordChange("owner-Kq7vZp3xWm9t", "another-Kq7vZp3xWm9t")));
        var twoFactor = await Assert.ThrowsAsync<PortalForbiddenException>(() => app.Services.GetRequiredService<TwoFactorService>().SetupAsync(viewing));

        Assert.All([token, password, twoFactor], e => Assert.Equal("view_as.own_session_only", e.Code));
        Assert.Contains("Return to your own session (admin)", token.Message);
        var entry = await LastAuditAsync("api-token.create", "mine now");
        Assert.Equal(($"{PortalAppFixture.AdminUserName} as {owner}", AuditOutcome.Refused), (entry.ActorName, entry.Outcome));
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        Assert.False(await db.ApiTokens.AnyAsync(t => t.OwnerUserId == viewing.UserId));
    }

    [Fact]
    public async Task AViewAsSession_EndsAfterItsHour_OrOnceItsAdminIsLockedOrNoLongerAnAdmin()
    {
        var (admin, _) = await app.CreateUserAsync(PortalRoles.Reseller, "tmpadm");
        await using var scope = app.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var adminUser = (await users.FindByNameAsync(admin))!;
        await users.RemoveFromRoleAsync(adminUser, PortalRoles.Reseller);
        await users.AddToRoleAsync(adminUser, PortalRoles.Admin);
        adminUser = (await users.FindByNameAsync(admin))!;
        var now = DateTimeOffset.UtcNow;
        var session = new ClaimsPrincipal(new ClaimsIdentity(ViewAs.ClaimsFor(adminUser, now), "test"));

        Assert.True(await ViewAs.StillAllowedAsync(users, session, now.AddMinutes(59)));
        Assert.False(await ViewAs.StillAllowedAsync(users, session, now.AddMinutes(61)));
        Assert.True(await ViewAs.StillAllowedAsync(users, new ClaimsPrincipal(new ClaimsIdentity()), now.AddYears(1)));

        await users.RemoveFromRoleAsync(adminUser, PortalRoles.Admin);
        var demoted = new ClaimsPrincipal(new ClaimsIdentity(ViewAs.ClaimsFor((await users.FindByNameAsync(admin))!, now), "test"));
        Assert.False(await ViewAs.StillAllowedAsync(users, demoted, now));

        await users.AddToRoleAsync(adminUser, PortalRoles.Admin);
        var again = new ClaimsPrincipal(new ClaimsIdentity(ViewAs.ClaimsFor((await users.FindByNameAsync(admin))!, now), "test"));
        Assert.True(await ViewAs.StillAllowedAsync(users, again, now));
        await Users.SetLockedAsync(PortalAppFixture.Admin, adminUser.Id, locked: true);
        // A fresh scope, as each request and each circuit check has (this scope's context still holds the user as it was).
        await using var later = app.Services.CreateAsyncScope();
        Assert.False(await ViewAs.StillAllowedAsync(later.ServiceProvider.GetRequiredService<UserManager<PortalUser>>(), again, now));
    }

    [Fact]
    public async Task AnOpenViewAsSession_KeepsItsMarkWhenItsCookieIsRenewed_AndEndsAtTheNextRequestOnceItsAdminIsLocked()
    {
        var owner = await OwnerAsync();
        var (admin, password) = await app.CreateUserAsync(PortalRoles.User, "vadm");
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            var user = (await users.FindByNameAsync(admin))!;
            await users.RemoveFromRoleAsync(user, PortalRoles.User);
            await users.AddToRoleAsync(user, PortalRoles.Admin);
        }

        using var client = app.CreateClient();
        await client.SignInAsync(admin, password);
        await PostFormAsync(client, "/admin/users", "/auth/view-as", new() { ["user"] = owner });

        // Each of these requests re-checks the session and renews its cookie (the interval is zero here).
        for (var i = 0; i < 2; i++)
        {
            var page = await client.GetAsync("/account");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains($"{admin} as {owner}", await page.Content.ReadAsStringAsync());
        }

        await Users.SetLockedAsync(PortalAppFixture.Admin, (await ActorOfAsync(admin, PortalRoles.Admin)).UserId!, locked: true);
        var after = await client.GetAsync("/account");

        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.StartsWith("/auth/signin", after.RedirectPath(client));
    }

    [Fact]
    public async Task ViewAs_ALockedUserASuspendedOwnerAnAdminOrByANonAdmin_IsRefusedSayingWhy()
    {
        var (locked, _) = await app.CreateUserAsync(PortalRoles.User, "vlock");
        await Users.SetLockedAsync(PortalAppFixture.Admin, (await ActorOfAsync(locked, PortalRoles.User)).UserId!, locked: true);
        var suspended = await OwnerAsync();
        await app.Services.GetRequiredService<AccountService>().ModifyAsync(PortalAppFixture.Admin, suspended, new AccountChange(Status: AccountStatus.Suspended, SuspensionReason: "Unpaid invoice"));
        var admin = PortalAppFixture.Admin with { UserId = await AdminIdAsync() };

        var lockedRefusal = await Assert.ThrowsAsync<PortalValidationException>(() => Users.BeginViewAsAsync(admin, locked));
        var suspendedRefusal = await Assert.ThrowsAsync<PortalValidationException>(() => Users.BeginViewAsAsync(admin, suspended));
        var adminRefusal = await Assert.ThrowsAsync<PortalValidationException>(() => Users.BeginViewAsAsync(admin, PortalAppFixture.AdminUserName));

        Assert.Contains("is locked: unlock them first", lockedRefusal.Message);
        Assert.Contains("cannot sign in here, so there is no panel of theirs to view", suspendedRefusal.Message);
        Assert.Contains("Unpaid invoice", suspendedRefusal.Message);
        Assert.Contains("Your own account is not viewed as here", adminRefusal.Message);
        Assert.Equal(lockedRefusal.Message, await Users.ViewAsRefusalAsync(admin, locked));
        Assert.Equal(AuditOutcome.Refused, (await LastAuditAsync("user.view_as", suspended)).Outcome);

        var (reseller, password) = await app.CreateUserAsync(PortalRoles.Reseller, "vnot");
        using var client = app.CreateClient();
        await client.SignInAsync(reseller, password);
        var refused = await PostFormAsync(client, "/reseller", "/auth/view-as", new() { ["user"] = suspended });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(AuditOutcome.Refused, (await LastAuditAsync("user.view_as", suspended)).Outcome);
        Assert.Equal(reseller, (await LastAuditAsync("user.view_as", suspended)).ActorName);
    }

    private static async Task<HttpResponseMessage> PostFormAsync(HttpClient client, string pageWithToken, string action, Dictionary<string, string> fields)
    {
        fields["__RequestVerificationToken"] = await PortalHttp.GetAntiforgeryTokenAsync(client, pageWithToken);
        return await client.PostAsync(action, new FormUrlEncodedContent(fields));
    }

    private static Actor ViewingAs(Actor user, string admin) =>
        user with
        {
            Principal = new ClaimsPrincipal(new ClaimsIdentity(
                user.Principal.Claims.Append(new Claim(ViewAs.AdminNameClaim, admin)).Append(new Claim(ViewAs.AdminIdClaim, "id-" + admin)), "test")),
        };

    /// <summary>An account's owner (the user has the account's name); returns the name.</summary>
    private async Task<string> OwnerAsync()
    {
        var username = AccountsFixture.NewName("um");
        await app.Services.GetRequiredService<AccountService>().CreateAsync(PortalAppFixture.Admin,
            new NewAccount(username, $"{username}.example.test", $"o@{username}.example.test", Password: "owner-Kq7vZp3xWm9t"));
        return username;
    }

    private async Task<Actor> ActorOfAsync(string name, string role)
    {
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        var id = await db.Users.Where(u => u.UserName == name).Select(u => u.Id).SingleAsync();
        return new Actor(id, name, "127.0.0.1", new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, id), new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role)], "test")));
    }

    private async Task<string?> StampAsync(string name)
    {
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        return await db.Users.Where(u => u.UserName == name).Select(u => u.SecurityStamp).SingleAsync();
    }

    private async Task<string> AdminIdAsync()
    {
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        return await db.Users.Where(u => u.UserName == PortalAppFixture.AdminUserName).Select(u => u.Id).SingleAsync();
    }

    private async Task<AuditEntry> LastAuditAsync(string action, string target)
    {
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        return await db.AuditEntries.Where(e => e.Action == action && e.Target == target).OrderByDescending(e => e.Id).FirstAsync();
    }
}
