namespace Portal.Tests.Distribution;

/// <summary>
/// Terminating an account, on real nodes: everything of it goes on the parent (owner, tokens, mailboxes, zone) and on
/// the child that holds its mail, or that part waits with the scheduled deletions while the child is away.
/// </summary>
[Collection(MoveCollection.Name)]
public sealed class TerminationTests(MoveFixture nodes)
{
    [Fact]
    public async Task ALocalAccount_Terminated_LosesItsOwnerTokensMailAndZone_KeepsAFinalArchive_AndItsNamesAreFreeAgain()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(90);
        var messages = mailboxes.Values.Sum(m => Maildir.Measure(m).Messages);
        var owner = await AccountsFixture.OwnerApiAsync(nodes.Parent, name);
        (await owner.GetAsync("api/v1/me")).Expect(HttpStatusCode.OK);
        var home = Path.Combine(Path.GetDirectoryName(nodes.Parent.MailRoot.TrimEnd('/'))!, "mail-state", MailServerAdapter.HomesFolder, $"alice@{domain}");
        Directory.CreateDirectory(home);
        await File.WriteAllTextAsync(Path.Combine(home, ".dovecot.lda-dupes"), "x");
        var otherHome = Path.Combine(Path.GetDirectoryName(home)!, $"alice@x{domain}");
        Directory.CreateDirectory(otherHome);

        var id = await TerminateAsync(name, keepArchiveDays: 3);
        var done = await nodes.WaitFinishedAsync(id);

        Assert.Equal("Succeeded", done.GetProperty("state").GetString());
        (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.Unauthorized, (await owner.GetAsync("api/v1/me")).Status);
        Assert.False(Directory.Exists(Path.Combine(nodes.Parent.MailRoot, domain)), "the account's mail should be gone");
        Assert.False(Directory.Exists(home), "the mailboxes' homes should be gone");
        Assert.True(Directory.Exists(otherHome), "another domain's home that ends like this one stays");
        await using (var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString))
        {
            Assert.False(await db.Users.AnyAsync(u => u.UserName == name));
            Assert.False(await db.EmailAccounts.AnyAsync(e => e.Domain == domain));
            Assert.False(await db.DnsZones.AnyAsync(z => z.Name == domain));
        }

        // The final archive holds every message, and is deleted when its days are up (a delayed job).
        var archive = Result(done, "archive");
        Assert.True(File.Exists(archive), $"the final archive should be at {archive}");
        var manifest = JsonSerializer.Deserialize<MailArchiveManifest>(await File.ReadAllTextAsync(Path.ChangeExtension(Path.ChangeExtension(archive, null), ".json")), PortalApi.Json)!;
        Assert.Equal(messages, manifest.Files.Count);
        Assert.NotNull(Result(done, "archive kept until"));

        // Its user name and domain can be taken again.
        (await nodes.Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task ADistributedAccount_Terminated_LosesItsTwinAndMailOnTheChild_ItsFinalArchiveMadeThereKeptHere()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(40);
        var messages = mailboxes.Values.Sum(m => Maildir.Measure(m).Messages);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        Assert.True(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, domain)));

        var done = await nodes.WaitFinishedAsync(await TerminateAsync(name, keepArchiveDays: 2));

        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());
        var archive = Result(done, "archive")!;
        Assert.StartsWith(nodes.Parent.MailRoot, archive);
        Assert.Equal(Result(done, "archive sha256"), await MailArchive.HashFileAsync(archive, CancellationToken.None));
        var manifest = JsonSerializer.Deserialize<MailArchiveManifest>(await File.ReadAllTextAsync(Path.ChangeExtension(Path.ChangeExtension(archive, null), ".json")), PortalApi.Json)!;
        Assert.Equal(messages, manifest.Files.Count);
        (await nodes.Mail.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.NotFound);
        Assert.False(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, domain)), "the child's copy of the mail should be gone");
        (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ADistributedAccount_TerminatedWhileItsChildIsAway_IsGoneHere_AndItsChildsPartWaitsWithTheScheduledDeletions()
    {
        var (name, domain, _) = await nodes.AccountWithMailAsync(30);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        await nodes.Mail.StopAsync();
        JsonElement done;
        try
        {
            // A final archive is made by the child: asked for while it is away, the termination stops before
            // anything goes, and says what to do.
            var archived = await nodes.WaitFinishedAsync(await TerminateAsync(name, keepArchiveDays: 3));
            Assert.Equal("Failed", archived.GetProperty("state").GetString());
            Assert.Contains("terminate without a final archive", archived.GetProperty("error").GetString());
            Assert.Contains("Nothing of the account was removed here", archived.GetProperty("error").GetString());
            var kept = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body;
            Assert.Equal("Suspended", kept.GetProperty("status").GetString());

            done = await nodes.WaitFinishedAsync(await TerminateAsync(name));
        }
        finally
        {
            await nodes.Mail.RestartAsync();
        }

        Assert.Equal("Succeeded", done.GetProperty("state").GetString());
        (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.NotFound);
        var deletion = Assert.Single(await nodes.DeletionsAsync(name));
        Assert.Equal("Scheduled", deletion.GetProperty("state").GetString());

        // Back online, the admin runs it (or Hangfire's next attempt does): the child's twin and mail go.
        (await nodes.Parent.Api.PostAsync($"api/v1/scheduled-deletions/{deletion.GetProperty("id").GetInt64()}/run")).Expect(HttpStatusCode.NoContent);
        for (var waited = 0; waited < 30_000 && (await nodes.DeletionsAsync(name)).Single().GetProperty("state").GetString() == "Scheduled"; waited += 250)
        {
            await Task.Delay(250);
        }

        Assert.Equal("Done", (await nodes.DeletionsAsync(name)).Single().GetProperty("state").GetString());
        (await nodes.Mail.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.NotFound);
        Assert.False(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, domain)));
    }

    [Fact]
    public async Task ATermination_IsRefused_WithoutItsTypedName_ToOwnersAndOtherResellers_DuringAMove_AndOnTheChild()
    {
        var (name, _, _) = await nodes.AccountWithMailAsync(10);

        var unconfirmed = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/terminate", new { confirm = name + "x" });
        Assert.Equal(HttpStatusCode.BadRequest, unconfirmed.Status);
        Assert.Equal("account.terminate_invalid", unconfirmed.Code);
        Assert.Contains($"Type the account's user name, {name}", unconfirmed.Message);
        var forever = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/terminate", new { confirm = name, keepArchiveDays = 400 });
        Assert.Equal(HttpStatusCode.BadRequest, forever.Status);

        var owner = await AccountsFixture.OwnerApiAsync(nodes.Parent, name);
        Assert.Equal(HttpStatusCode.Forbidden, (await owner.PostAsync($"api/v1/accounts/{name}/terminate", new { confirm = name })).Status);
        var (_, reseller) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        Assert.Equal(HttpStatusCode.NotFound, (await reseller.PostAsync($"api/v1/accounts/{name}/terminate", new { confirm = name })).Status);

        var move = await nodes.StartMoveAsync(name, nodes.Mail);
        var moving = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/terminate", new { confirm = name });
        Assert.Equal(HttpStatusCode.Conflict, moving.Status);
        Assert.Equal("move.in_progress", moving.Code);
        Assert.Equal("Succeeded", (await nodes.WaitFinishedAsync(move)).GetProperty("state").GetString());

        // The child keeps its twin for the parent: only the parent terminates it.
        var onChild = await nodes.Mail.Api.PostAsync($"api/v1/accounts/{name}/terminate", new { confirm = name });
        Assert.Equal(HttpStatusCode.Conflict, onChild.Status);
        Assert.Equal("account.twin", onChild.Code);

        // Nothing of it changed: it is there and active.
        var account = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal("Active", account.GetProperty("status").GetString());
        (await owner.GetAsync("api/v1/me")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AReseller_TerminatesItsOwnAccount()
    {
        var (resellerName, reseller) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        var name = AccountsFixture.NewName("tr");
        (await reseller.PostAsync("api/v1/accounts", new { username = name, domain = AccountsFixture.NewDomain(name), contactEmail = $"o@{name}.example.test" })).Expect(HttpStatusCode.Created);

        var started = (await reseller.PostAsync($"api/v1/accounts/{name}/terminate", new { confirm = name })).Expect(HttpStatusCode.Accepted);
        var done = await nodes.WaitFinishedAsync(started.Body.GetProperty("operationId").GetString()!);

        Assert.Equal("Succeeded", done.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await reseller.GetAsync($"api/v1/accounts/{name}")).Status);
        Assert.Equal(resellerName, done.GetProperty("requestedBy").GetString());
    }

    private async Task<string> TerminateAsync(string name, int? keepArchiveDays = null) =>
        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/terminate", new { confirm = name, keepArchiveDays })).Expect(HttpStatusCode.Accepted)
            .Body.GetProperty("operationId").GetString()!;

    private static string? Result(JsonElement operation, string name) =>
        operation.GetProperty("results").EnumerateArray().Where(r => r.GetProperty("key").GetString() == name).Select(r => r.GetProperty("value").GetString()).FirstOrDefault();
}
