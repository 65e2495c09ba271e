namespace Portal.Tests.Integration;

/// <summary>
/// AutoSSL's DNS-01 records in an account's zone: put in the zone that holds the name (a subdomain's too), kept when a
/// move rewrites the zone's mail records, removed again; anything that is not such a record, or a name no zone here
/// holds, is refused.
/// </summary>
[Collection(PortalAppCollection.Name)]
public sealed class AcmeChallengeRecordTests(PortalAppFixture app)
{
    [Fact]
    public async Task AChallengeRecord_GoesIntoTheZoneThatHoldsTheName_SurvivesAMovesRewrite_AndIsRemoved()
    {
        var (domain, zones, db) = await AccountAsync();
        var value = new string('a', 43);

        var zoneId = await zones.SetAcmeChallengeAsync($"_acme-challenge.mail.{domain}", value, present: true, CancellationToken.None);
        var before = await ZoneAsync(db, zoneId);
        var accountId = before.AccountId!.Value;
        Assert.Contains(before.Records, r => r is { Name: "_acme-challenge.mail", Type: "TXT" } && r.Content == $"\"{value}\"");

        // A move points mail. elsewhere and rebuilds the zone's records: the challenge stays, the serial rises.
        await using (var context = await db.CreateDbContextAsync())
        {
            await zones.SetMailAddressAsync(context, accountId, "192.0.2.77", CancellationToken.None);
            await context.SaveChangesAsync();
        }

        var moved = await ZoneAsync(db, zoneId);
        Assert.Contains(moved.Records, r => r.Name == "_acme-challenge.mail");
        Assert.Contains(moved.Records, r => r is { Name: "mail", Type: "A", Content: "192.0.2.77" });
        Assert.True(moved.Serial > before.Serial);

        await zones.SetAcmeChallengeAsync($"_acme-challenge.mail.{domain}", value, present: false, CancellationToken.None);
        Assert.DoesNotContain((await ZoneAsync(db, zoneId)).Records, r => r.Name.StartsWith("_acme-challenge", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("mail.{0}", "value")]
    [InlineData("_acme-challenge.{0}", "with space")]
    [InlineData("_acme-challenge.{0}", "\"quoted\"")]
    [InlineData("_acme-challenge.{0}", "")]
    public async Task WhatIsNotAChallengeRecord_IsRefused(string name, string value)
    {
        var (domain, zones, _) = await AccountAsync();

        var refused = await Assert.ThrowsAsync<PortalValidationException>(() => zones.SetAcmeChallengeAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, name, domain), value, present: true, CancellationToken.None));

        Assert.Equal("dns.acme_challenge", refused.Code);
    }

    [Fact]
    public async Task ANameNoZoneHereHolds_IsRefusedSayingSo()
    {
        var (_, zones, _) = await AccountAsync();

        var refused = await Assert.ThrowsAsync<PortalNotFoundException>(() => zones.SetAcmeChallengeAsync("_acme-challenge.elsewhere.example.org", "abc", present: true, CancellationToken.None));

        Assert.Contains("No zone on this node holds elsewhere.example.org", refused.Message);
    }

    private async Task<(string Domain, DnsZoneService Zones, IDbContextFactory<PortalDbContext> Db)> AccountAsync()
    {
        var name = "acme" + Guid.NewGuid().ToString("N")[..8];
        var domain = $"{name}.example.test";
        await app.Services.GetRequiredService<AccountService>().CreateAsync(PortalAppFixture.Admin, new NewAccount(name, domain, $"o@{domain}"));
        return (domain, app.Services.GetRequiredService<DnsZoneService>(), app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>());
    }

    private static async Task<DnsZone> ZoneAsync(IDbContextFactory<PortalDbContext> db, long zoneId)
    {
        await using var context = await db.CreateDbContextAsync();
        return await context.DnsZones.AsNoTracking().Include(z => z.Records).SingleAsync(z => z.Id == zoneId);
    }
}

/// <summary>
/// AutoSSL when its certificate authority does not answer: each account due records why and waits 1 hour, then 2 (the
/// recurring run leaves it alone meanwhile; an admin's run does not wait), and the list says Failed with the reason.
/// </summary>
[Collection(PortalAppCollection.Name)]
public sealed class AutoSslFailureTests(PortalAppFixture app)
{
    [Fact]
    public async Task ACertificateAuthorityThatDoesNotAnswer_IsRecordedWithItsReason_AndTriedAgainLaterAndLater()
    {
        var name = "ssl" + Guid.NewGuid().ToString("N")[..8];
        await app.Services.GetRequiredService<AccountService>().CreateAsync(PortalAppFixture.Admin, new NewAccount(name, $"{name}.example.test", $"o@{name}.example.test"));
        var autoSsl = app.Services.GetRequiredService<AutoSslService>();

        var run = await autoSsl.RunNowAsync(name, null, null, CancellationToken.None);

        Assert.Equal(1, run.Failed);
        var first = (await autoSsl.ListAsync(CancellationToken.None)).Single(r => r.Username == name);
        Assert.Equal("Failed", first.State);
        Assert.Contains("https://127.0.0.1:9/directory could not be reached", first.LastError);
        Assert.InRange(first.NextAttemptAt!.Value - first.LastAttemptAt!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));

        // The recurring run does not try it before then.
        await autoSsl.RunDueAsync(CancellationToken.None);
        Assert.Equal(first.LastAttemptAt, (await autoSsl.ListAsync(CancellationToken.None)).Single(r => r.Username == name).LastAttemptAt);

        // An admin's run does, and the next wait is twice as long.
        await autoSsl.RunNowAsync(name, null, null, CancellationToken.None);
        var second = (await autoSsl.ListAsync(CancellationToken.None)).Single(r => r.Username == name);
        Assert.True(second.LastAttemptAt > first.LastAttemptAt);
        Assert.InRange(second.NextAttemptAt!.Value - second.LastAttemptAt!.Value, TimeSpan.FromMinutes(119), TimeSpan.FromMinutes(121));
    }

    [Fact]
    public async Task RunningAutoSslForAnAccountItDoesNotCover_IsRefusedBeforeAnyOperationStarts()
    {
        var runs = app.Services.GetRequiredService<AutoSslRunJob>();

        var refused = await Assert.ThrowsAsync<PortalNotFoundException>(() => runs.StartAsync(PortalAppFixture.Admin, "nosuchaccount", null, CancellationToken.None));

        Assert.Contains("AutoSSL looks after no account nosuchaccount here", refused.Message);
        await Assert.ThrowsAsync<PortalForbiddenException>(() => runs.StartAsync(PortalAppFixture.ActorFor("someone", PortalRoles.Reseller), null, null, CancellationToken.None));
    }
}
