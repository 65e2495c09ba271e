namespace Portal.Tests.Integration;

[Collection(PortalAppCollection.Name)]
public sealed class UserAdminTests(PortalAppFixture app)
{
    private UserAdminService Users => app.Services.GetRequiredService<UserAdminService>();

    [Fact]
    public async Task CreateAsync_Reseller_CanSignInAndIsAudited()
    {
        var name = "res" + Guid.NewGuid().ToString("N")[..10];

        var created = await Users.CreateAsync(PortalAppFixture.Admin, new NewUser(name, "res@example.com", PortalRoles.Reseller, null));

        Assert.NotNull(created.GeneratedPassword);
        using var client = app.CreateClient();
        await client.SignInAsync(name, created.GeneratedPassword!);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/reseller")).StatusCode);

        var entry = await LastAuditAsync("user.create", name);
        Assert.Equal(AuditOutcome.Succeeded, entry.Outcome);
        Assert.Equal("test-admin", entry.ActorName);
        Assert.Equal("127.0.0.1", entry.Address);
        Assert.Equal(TimeSpan.Zero, entry.At.Offset);
    }

    [Theory]
    [InlineData("Bad Name", PortalRoles.User, null, "user name must be")]
    [InlineData("ab", PortalRoles.User, null, "user name must be")]
    [InlineData("validname1", PortalRoles.Admin, null, "role must be one of")]
    [InlineData("validname2", PortalRoles.User, "Password123!", "too weak for the rule of node")]
    public async Task CreateAsync_BadRequest_IsRefusedWithAReasonAndAudited(string name, string role, string? password, string reason)
    {
        var error = await Assert.ThrowsAsync<PortalValidationException>(() =>
            Users.CreateAsync(PortalAppFixture.Admin, new NewUser(name, null, role, password)));

        Assert.Contains(error.Problems, p => p.Contains(reason, StringComparison.Ordinal));
        Assert.Equal(AuditOutcome.Refused, (await LastAuditAsync("user.create", name)).Outcome);
    }

    [Fact]
    public async Task CreateAsync_ExistingName_IsRefused()
    {
        var (name, _) = await app.CreateUserAsync(PortalRoles.User, "dup");

        var error = await Assert.ThrowsAsync<PortalValidationException>(() =>
            Users.CreateAsync(PortalAppFixture.Admin, new NewUser(name, null, PortalRoles.Reseller, null)));

        Assert.Contains("already exists", error.Message);
    }

    [Fact]
    public async Task CreateAsync_BadEmail_IsRefused()
    {
        var error = await Assert.ThrowsAsync<PortalValidationException>(() =>
            Users.CreateAsync(PortalAppFixture.Admin, new NewUser("mail" + Guid.NewGuid().ToString("N")[..8], "not-an-email", PortalRoles.User, null)));

        Assert.Contains("is not an email address", error.Message);
    }

    [Theory]
    [InlineData(PortalRoles.Reseller)]
    [InlineData(PortalRoles.User)]
    public async Task CreateAsync_ByNonAdmin_IsForbiddenAndAudited(string role)
    {
        var actor = PortalAppFixture.ActorFor("someone-" + role.ToLowerInvariant(), role);
        var name = "sneaky" + Guid.NewGuid().ToString("N")[..8];

        await Assert.ThrowsAsync<PortalForbiddenException>(() =>
            Users.CreateAsync(actor, new NewUser(name, null, PortalRoles.Reseller, null)));

        var entry = await LastAuditAsync("user.create", name);
        Assert.Equal(AuditOutcome.Refused, entry.Outcome);
        Assert.Equal(actor.Name, entry.ActorName);
    }

    [Fact]
    public async Task ListAsync_ByNonAdmin_IsForbidden()
    {
        await Assert.ThrowsAsync<PortalForbiddenException>(() =>
            Users.ListAsync(PortalAppFixture.ActorFor("r1", PortalRoles.Reseller), new UserQuery()));
    }

    [Fact]
    public async Task ListAsync_FiltersByRoleAndSearch_InTheDatabase()
    {
        var (reseller, _) = await app.CreateUserAsync(PortalRoles.Reseller, "findme");
        var (user, _) = await app.CreateUserAsync(PortalRoles.User, "findme");

        var resellers = await Users.ListAsync(PortalAppFixture.Admin, new UserQuery("findme", PortalRoles.Reseller, 0, 200));

        Assert.Contains(resellers.Items, r => r.UserName == reseller);
        Assert.DoesNotContain(resellers.Items, r => r.UserName == user);
        Assert.All(resellers.Items, r => Assert.Equal(PortalRoles.Reseller, r.Role));
    }

    [Fact]
    public async Task SetLockedAsync_LockedUserCannotSignIn_UnlockedCan()
    {
        var (name, password) = await app.CreateUserAsync(PortalRoles.User, "locked");
        var row = (await Users.ListAsync(PortalAppFixture.Admin, new UserQuery(name))).Items.Single();

        await Users.SetLockedAsync(PortalAppFixture.Admin, row.Id, locked: true);
        using (var client = app.CreateClient())
        {
            var response = await client.PostSignInAsync(name, password);
            Assert.Equal("/auth/lockout", response.RedirectPath(client));
        }

        await Users.SetLockedAsync(PortalAppFixture.Admin, row.Id, locked: false);
        using (var client = app.CreateClient())
        {
            await client.SignInAsync(name, password);
        }

        Assert.Equal(AuditOutcome.Succeeded, (await LastAuditAsync("user.unlock", name)).Outcome);
    }

    [Fact]
    public async Task SetLockedAsync_UnknownUser_IsRefusedWithAClearMessage()
    {
        var error = await Assert.ThrowsAsync<PortalValidationException>(() =>
            Users.SetLockedAsync(PortalAppFixture.Admin, "no-such-id", locked: true));

        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public async Task ResetPasswordAsync_GivesANewPasswordThatWorks_EndsTheOldOne_AndIsAuditedWithoutIt()
    {
        var (name, old) = await app.CreateUserAsync(PortalRoles.User, "forgot");

        var reset = await Users.ResetPasswordAsync(PortalAppFixture.Admin, name);

        Assert.Equal(name, reset.UserName);
        using (var client = app.CreateClient())
        {
            await client.SignInAsync(name, reset.GeneratedPassword);
        }

        using (var client = app.CreateClient())
        {
            Assert.Contains("is not right", await (await client.PostSignInAsync(name, old)).Content.ReadAsStringAsync());
        }

        var entry = await LastAuditAsync("user.password.reset", name);
        Assert.Equal(AuditOutcome.Succeeded, entry.Outcome);
        Assert.DoesNotContain(reset.GeneratedPassword, entry.Details);
    }

    [Fact]
    public async Task ResetPasswordAsync_OfOneselfAnotherAdminOrNobody_OrByANonAdmin_IsRefusedSayingWhat()
    {
        var self = PortalAppFixture.Admin with { UserId = await AdminIdAsync() };
        var own = await Assert.ThrowsAsync<PortalValidationException>(() => Users.ResetPasswordAsync(self, PortalAppFixture.AdminUserName));
        Assert.Contains("Change your own password on the Password page", own.Message);

        var otherAdmin = await Assert.ThrowsAsync<PortalValidationException>(() => Users.ResetPasswordAsync(PortalAppFixture.ActorFor("another-admin", PortalRoles.Admin), PortalAppFixture.AdminUserName));
        Assert.Contains("is an admin: their password is theirs to change", otherAdmin.Message);
        Assert.Equal(AuditOutcome.Refused, (await LastAuditAsync("user.password.reset", PortalAppFixture.AdminUserName)).Outcome);

        var nobody = await Assert.ThrowsAsync<PortalValidationException>(() => Users.ResetPasswordAsync(PortalAppFixture.Admin, "no-such-user"));
        Assert.Contains("does not exist", nobody.Message);

        var (name, _) = await app.CreateUserAsync(PortalRoles.User, "victim");
        await Assert.ThrowsAsync<PortalForbiddenException>(() => Users.ResetPasswordAsync(PortalAppFixture.ActorFor("some-reseller", PortalRoles.Reseller), name));
        Assert.Equal(AuditOutcome.Refused, (await LastAuditAsync("user.password.reset", name)).Outcome);
    }

    private async Task<string> AdminIdAsync()
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.Users.Where(u => u.UserName == PortalAppFixture.AdminUserName).Select(u => u.Id).SingleAsync();
    }

    private async Task<AuditEntry> LastAuditAsync(string action, string target)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.AuditEntries.Where(e => e.Action == action && e.Target == target).OrderByDescending(e => e.Id).FirstAsync();
    }
}
