namespace Portal.Tests.Distribution;

/// <summary>
/// Renaming an account and changing its primary domain, on real nodes: the owner, the mail, the addresses, the zone and
/// the child's copy follow, and the account keeps working (its mail moves back and forth afterwards).
/// </summary>
[Collection(MoveCollection.Name)]
public sealed class RenamingTests(MoveFixture nodes)
{
    [Fact]
    public async Task ALocalAccount_Renamed_KeepsItsOwnerTokensAndMail_UnderItsNewName()
    {
        var (name, _, _) = await nodes.AccountWithMailAsync(10);
        var owner = await AccountsFixture.OwnerApiAsync(nodes.Parent, name);
        var newName = "rn" + Guid.NewGuid().ToString("N")[..8];

        var renamed = (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/rename", new { newUsername = newName })).Expect(HttpStatusCode.OK);

        Assert.Equal(newName, renamed.Body.GetProperty("username").GetString());
        (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.NotFound);
        (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{newName}")).Expect(HttpStatusCode.OK);
        Assert.Equal(newName, (await owner.GetAsync("api/v1/me")).Expect(HttpStatusCode.OK).Body.GetProperty("userName").GetString());
        Assert.Equal(2, (await owner.GetAsync($"api/v1/accounts/{newName}/mail/addresses")).Expect(HttpStatusCode.OK).Body.GetArrayLength());
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        Assert.True(await db.Users.AnyAsync(u => u.UserName == newName && u.NormalizedUserName == newName.ToUpperInvariant()));
        Assert.False(await db.Users.AnyAsync(u => u.UserName == name));
    }

    [Fact]
    public async Task ADistributedAccount_Renamed_IsRenamedOnItsChild_AndItsMailComesBackUnderTheNewName()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(40);
        var expected = MailSnapshots.Of(mailboxes);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        var newName = "rn" + Guid.NewGuid().ToString("N")[..8];

        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/rename", new { newUsername = newName })).Expect(HttpStatusCode.OK);

        (await nodes.Mail.Api.GetAsync($"api/v1/accounts/{newName}")).Expect(HttpStatusCode.OK);
        (await nodes.Mail.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.NotFound);
        Assert.Equal("Succeeded", (await nodes.WaitFinishedAsync(await nodes.StartReturnAsync(newName))).GetProperty("state").GetString());
        expected.AssertSameAt(nodes.Parent.MailRoot, domain);
    }

    [Fact]
    public async Task ALocalAccount_WithANewDomain_HasItsMailAddressesForwardersAndZoneThere_AndTheOldDomainIsFree()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(30);
        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination = $"alice@{domain}" })).Expect(HttpStatusCode.Created);
        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "out", destination = "someone@example.org" })).Expect(HttpStatusCode.Created);
        var expected = MailSnapshots.Of(mailboxes);
        var newDomain = $"new-{name}.example.test";

        var changed = (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/domain", new { newDomain })).Expect(HttpStatusCode.OK);

        Assert.Equal(newDomain, changed.Body.GetProperty("domain").GetString());
        expected.AssertSameAt(nodes.Parent.MailRoot, newDomain);

        Assert.False(Directory.Exists(Path.Combine(nodes.Parent.MailRoot, domain)));
        var addresses = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Body.EnumerateArray().Select(a => a.GetProperty("address").GetString()).Order().ToList();
        Assert.Equal([$"alice@{newDomain}", $"bob@{newDomain}"], addresses);
        var forwarders = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/forwarders")).Body.EnumerateArray()
            .Select(f => $"{f.GetProperty("source").GetString()}>{f.GetProperty("destination").GetString()}").Order().ToList();
        Assert.Equal([$"out@{newDomain}>someone@example.org", $"sales@{newDomain}>alice@{newDomain}"], forwarders);
        var zone = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/zone")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(newDomain, zone.GetProperty("name").GetString());
        var state = Path.Combine(Path.GetDirectoryName(nodes.Parent.MailRoot)!, "mail-state");
        var passwd = await File.ReadAllTextAsync(Path.Combine(state, MailServerAdapter.PasswdFile));
        Assert.Contains($"alice@{newDomain}:", passwd);
        Assert.DoesNotContain($"alice@{domain}:", passwd);

        // The old domain can be given to another account.
        var other = "od" + Guid.NewGuid().ToString("N")[..8];
        (await nodes.Parent.Api.PostAsync("api/v1/accounts", new { username = other, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task ADistributedAccount_WithANewDomain_HasItsMailMovedOnTheChild_AndItComesBackThere()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(40);
        var expected = MailSnapshots.Of(mailboxes);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        var newDomain = $"new-{name}.example.test";

        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/domain", new { newDomain })).Expect(HttpStatusCode.OK);

        Assert.False(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, domain)));
        Assert.Equal(newDomain, (await nodes.Mail.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body.GetProperty("domain").GetString());
        var addresses = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.EnumerateArray().Select(a => a.GetProperty("address").GetString()).Order().ToList();
        Assert.Equal([$"alice@{newDomain}", $"bob@{newDomain}"], addresses);
        Assert.Equal("Succeeded", (await nodes.WaitFinishedAsync(await nodes.StartReturnAsync(name))).GetProperty("state").GetString());
        expected.AssertSameAt(nodes.Parent.MailRoot, newDomain);
    }

    [Fact]
    public async Task RenamingAndNewDomains_AreRefused_WhenTakenInvalidOrDuringAMove_AndToOwnersAndOtherResellers()
    {
        var (name, domain, _) = await nodes.AccountWithMailAsync(10);
        var (taken, takenDomain, _) = await nodes.AccountWithMailAsync(1);

        Assert.Equal("account.taken", (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/rename", new { newUsername = taken })).Code);
        Assert.Equal("account.rename_invalid", (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/rename", new { newUsername = "Bad-Name" })).Code);
        Assert.Equal("account.taken", (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/domain", new { newDomain = takenDomain })).Code);
        Assert.Equal("account.domain_invalid", (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/domain", new { newDomain = "not a domain" })).Code);
        Assert.Equal("account.domain_refused", (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/domain", new { newDomain = "co.uk" })).Code);
        var owner = await AccountsFixture.OwnerApiAsync(nodes.Parent, name);
        Assert.Equal(HttpStatusCode.Forbidden, (await owner.PostAsync($"api/v1/accounts/{name}/rename", new { newUsername = "ownerpick" })).Status);
        var (_, reseller) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        Assert.Equal(HttpStatusCode.NotFound, (await reseller.PostAsync($"api/v1/accounts/{name}/domain", new { newDomain = "reseller-pick.example.test" })).Status);

        var move = await nodes.StartMoveAsync(name, nodes.Mail);
        var moving = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/domain", new { newDomain = $"x{domain}" });
        Assert.Equal(HttpStatusCode.Conflict, moving.Status);
        Assert.Equal("move.in_progress", moving.Code);
        Assert.Equal("Succeeded", (await nodes.WaitFinishedAsync(move)).GetProperty("state").GetString());
        // A twin is changed through its parent only.
        Assert.Equal("account.twin", (await nodes.Mail.Api.PostAsync($"api/v1/accounts/{name}/rename", new { newUsername = "childpick" })).Code);
        Assert.Equal(domain, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body.GetProperty("domain").GetString());
    }
}
