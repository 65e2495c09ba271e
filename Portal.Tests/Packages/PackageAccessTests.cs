namespace Portal.Tests.Packages;

/// <summary>Only admins manage packages and resellers' limits, whoever calls the service (a page, not only the API); refusals are audited.</summary>
[Collection(PortalAppCollection.Name)]
public sealed class PackageAccessTests(PortalAppFixture app)
{
    private PackageService Packages => app.Services.GetRequiredService<PackageService>();

    [Theory]
    [InlineData(PortalRoles.Reseller)]
    [InlineData(PortalRoles.User)]
    public async Task ANonAdmin_CannotCreateChangeOrDeleteAPackage_AndEachRefusalIsAudited(string role)
    {
        var actor = PortalAppFixture.ActorFor("pkg-" + role.ToLowerInvariant(), role);
        var name = "access-" + role.ToLowerInvariant();
        await Packages.CreateAsync(PortalAppFixture.Admin, new PackageSpec(name, ["ApiTokens", "Email"]));

        await Assert.ThrowsAsync<PortalForbiddenException>(() => Packages.CreateAsync(actor, new PackageSpec(name + "-2")));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => Packages.UpdateAsync(actor, name, new PackageSpec(name, ["Email"])));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => Packages.DeleteAsync(actor, name));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => Packages.PreviewAsync(actor, name, new PackageSpec(name)));
        await Assert.ThrowsAsync<PortalForbiddenException>(() => app.Services.GetRequiredService<ResellerLimits>().SetAsync(actor, "anyone", new ResellerLimitsChange(1, null)));

        Assert.Equal(["ApiTokens", "Email"], (await Packages.GetAsync(PortalAppFixture.Admin, name)).Features);
        await using var db = TestDatabases.OpenContext(app.ConnectionString);
        var refused = await db.AuditEntries.Where(e => e.ActorName == actor.Name && e.Outcome == AuditOutcome.Refused).Select(e => e.Action).ToListAsync();
        Assert.Equal(["package.create", "package.delete", "package.update", "reseller.limits"], refused.Order());
    }

    [Fact]
    public async Task AnOwner_DoesNotSeePackages()
    {
        var owner = PortalAppFixture.ActorFor("pkg-owner", PortalRoles.User);

        await Assert.ThrowsAsync<PortalForbiddenException>(() => Packages.ListAsync(owner));
    }

    [Theory]
    [InlineData("", "A package's name is 1-64")]
    [InlineData("  ", "A package's name is 1-64")]
    [InlineData("-bad", "A package's name is 1-64")]
    public async Task ABadName_IsRefused(string name, string expected)
    {
        var refused = await Assert.ThrowsAsync<PortalValidationException>(() => Packages.CreateAsync(PortalAppFixture.Admin, new PackageSpec(name)));

        Assert.Contains(expected, refused.Message);
    }

    [Fact]
    public async Task NamesAreUniqueWhateverTheirCase()
    {
        await Packages.CreateAsync(PortalAppFixture.Admin, new PackageSpec("Gold Plan"));

        var refused = await Assert.ThrowsAsync<PortalValidationException>(() => Packages.CreateAsync(PortalAppFixture.Admin, new PackageSpec("gold plan")));

        Assert.Contains("A package named Gold Plan exists", refused.Message);
    }

    [Theory]
    [InlineData(-1, null, "The mail limit must be between 0 (none)")]
    [InlineData(null, 0, "The most mailboxes must be between 1 and 100000")]
    public async Task LimitsOutOfRange_AreRefused(int? quota, int? mailboxes, string expected)
    {
        var refused = await Assert.ThrowsAsync<PortalValidationException>(() =>
            Packages.CreateAsync(PortalAppFixture.Admin, new PackageSpec("range-" + Guid.NewGuid().ToString("N")[..8], MailQuotaMegabytes: quota, MaxMailboxes: mailboxes)));

        Assert.Contains(expected, refused.Message);
    }
}
