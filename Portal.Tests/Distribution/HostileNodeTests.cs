namespace Portal.Tests.Distribution;

/// <summary>
/// Another node is untrusted input. A child (or another parent) whose database an attacker wrote sends mail settings
/// that reach into another tenant's mail: a mailbox named "../victim's domain/ceo", a forwarder from the victim's
/// domain, a destination holding two addresses, a password field that would end its passwd-file line. Every way data
/// comes in refuses them whole, names the node and the item, and the victim's mail on the parent is untouched.
/// </summary>
[Collection(MoveCollection.Name)]
public sealed class HostileNodeTests(MoveFixture nodes)
{
    [Fact]
    public async Task Dedistribution_FromAChildThatReachesForAnotherTenant_IsRefused_AndTheOtherTenantsMailIsUntouched()
    {
        var victim = await VictimAsync();
        var (name, _, _) = await nodes.AccountWithMailAsync(20);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        await using var poison = await PoisonAsync(nodes.Mail, name, victim.Domain);

        var done = await nodes.WaitFinishedAsync(await nodes.StartReturnAsync(name));

        Assert.Equal("Failed", done.GetProperty("state").GetString());
        var error = done.GetProperty("error").GetString()!;
        Assert.Contains("mail sent mail settings", error, StringComparison.Ordinal);
        Assert.Contains($"mailbox \"../{victim.Domain}/ceo\": not a valid mailbox name", error, StringComparison.Ordinal);
        Assert.Contains($"forwarder from \"@{victim.Domain}\": not an address of", error, StringComparison.Ordinal);
        Assert.Contains("is not one email address", error, StringComparison.Ordinal);
        Assert.Contains("its password is not a SHA512-CRYPT hash", error, StringComparison.Ordinal);
        await victim.AssertUntouchedAsync();
        Assert.Equal("mail", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
    }

    [Fact]
    public async Task Relay_FromAChildThatReachesForAnotherTenant_IsRefused_BeforeTheOtherChildIsTold()
    {
        var victim = await VictimAsync();
        var (name, _, _) = await nodes.AccountWithMailAsync(20);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        await using var poison = await PoisonAsync(nodes.Mail, name, victim.Domain);

        var done = await nodes.WaitFinishedAsync(await nodes.StartMoveAsync(name, nodes.Decay));

        Assert.Equal("Failed", done.GetProperty("state").GetString());
        Assert.Contains($"mailbox \"../{victim.Domain}/ceo\"", done.GetProperty("error").GetString()!, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await nodes.Decay.Api.GetAsync($"api/v1/accounts/{name}")).Status);
        await victim.AssertUntouchedAsync();
    }

    [Fact]
    public async Task ForcedDedistribution_WithSettingsKeptFromACompromisedChild_BringsTheAccountBackWithoutThem()
    {
        var victim = await VictimAsync();
        var (name, _, _) = await nodes.AccountWithMailAsync(5);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        // What the parent would have kept had it believed the child before (settings refreshed after each change).
        var hostile = new MailConfiguration(
            [new MailAddressConfig($"../{victim.Domain}/ceo", Hash, 0, DateTimeOffset.UtcNow)],
            [new MailForwarderConfig($"@{victim.Domain}", "thief@example.org", false, true)]);
        await using (var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString))
        {
            await db.Accounts.Where(a => a.Username == name).ExecuteUpdateAsync(u => u.SetProperty(a => a.MailSettingsSnapshot, JsonSerializer.Serialize(hostile, (JsonSerializerOptions?)null)));
        }

        var forced = await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{nodes.NodeIds[nodes.Mail]}/force-dedistribution", new { usernames = new[] { name }, confirm = new[] { name } });

        Assert.True(forced.Status == HttpStatusCode.OK, forced.Text);
        Assert.Equal(JsonValueKind.Null, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeId").ValueKind);
        Assert.Equal(0, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.GetArrayLength());
        await using (var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString))
        {
            var refusal = await db.AuditEntries.Where(e => e.Action == "account.force-dedistribute" && e.Target == name && e.Outcome == AuditOutcome.Refused).SingleAsync();
            Assert.Contains("were not restored", refusal.Details, StringComparison.Ordinal);
            Assert.False(await db.Forwarders.AnyAsync(f => f.Source == $"@{victim.Domain}"));
        }

        await victim.AssertUntouchedAsync();
    }

    [Fact]
    public async Task SettingsAChildReportsAfterAProxiedChange_AreNotKept_WhenTheyBreakTheRules()
    {
        var (name, domain, _) = await nodes.AccountWithMailAsync(5);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        await using var poison = await PoisonAsync(nodes.Mail, name, "victim.example.test");

        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination = $"alice@{domain}" })).Expect(HttpStatusCode.Created);

        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        var snapshot = await db.Accounts.Where(a => a.Username == name).Select(a => a.MailSettingsSnapshot).SingleAsync();
        Assert.NotNull(snapshot);
        Assert.DoesNotContain("victim.example.test", snapshot, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATransferFromASourceThatSendsSuchSettings_IsRefusedAtOnce_NamingWhatIsWrong()
    {
        var victim = await VictimAsync();
        // A "parent" that answers the export of an account with settings reaching into the victim's domain.
        var name = "mv" + Guid.NewGuid().ToString("N")[..8];
        var domain = $"{name}.example.test";
        var export = new AccountExport(
            new AccountTwin(name, domain, $"o@{domain}", ["ApiTokens", "Email"], "Active"), false, name, null, null, null,
            new MailConfiguration(
                [new MailAddressConfig($"../{victim.Domain}/ceo", Hash, 0, DateTimeOffset.UtcNow)],
                [new MailForwarderConfig($"sales@{domain}", "a@example.org\n@b.example", false, true)]),
            0, 0);
        await using var source = await StandInSourceAsync(export);

        var refused = await nodes.Other.Api.PostAsync("api/v1/transfers", new { address = source.Url, adminUserName = PortalNode.AdminUserName, token = "pnt_any", username = name, verifyTls = false });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("The source sent mail settings Portal refuses", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"mailbox \"../{victim.Domain}/ceo\"", refused.Message, StringComparison.Ordinal);
        Assert.Contains("is not one email address", refused.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await nodes.Other.Api.GetAsync($"api/v1/accounts/{name}")).Status);
    }

    [Fact]
    public async Task ATransferOfAPublicSuffix_IsRefusedAtOnce()
    {
        var name = "ps" + Guid.NewGuid().ToString("N")[..8];
        var export = new AccountExport(
            new AccountTwin(name, "github.io", "o@example.org", ["ApiTokens", "Email"], "Active"), false, name, null, null, null,
            new MailConfiguration([], []), 0, 0);
        await using var source = await StandInSourceAsync(export);

        var refused = await nodes.Other.Api.PostAsync("api/v1/transfers", new { address = source.Url, adminUserName = PortalNode.AdminUserName, token = "pnt_any", username = name, verifyTls = false });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("github.io is a public suffix", refused.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await nodes.Other.Api.GetAsync($"api/v1/accounts/{name}")).Status);
    }

    /// <summary>A node answering only the export of one account, with what the test gives it.</summary>
    private static async Task<StandIn> StandInSourceAsync(AccountExport export)
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, "http://127.0.0.1:0");
        var app = builder.Build();
        Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(app, "/node-api/v1/transfers/{username}",
            () => Microsoft.AspNetCore.Http.Results.Json(export, NodeApiClient.Json));
        await app.StartAsync();
        var address = app.Urls.First().Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/";
        return new StandIn(app, address);
    }

    private sealed record StandIn(Microsoft.AspNetCore.Builder.WebApplication App, string Url) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    /// <summary>
    /// A child whose database holds a "twin" named like a tenant of the parent's own reports its mail usage: the
    /// tenant's usage is left as the parent measured it, while the accounts that child does serve are measured.
    /// </summary>
    [Fact]
    public async Task MailUsage_FromAChildThatReportsAnotherTenant_LeavesThatTenantAlone()
    {
        var victim = await VictimAsync();
        var (name, domain, _) = await nodes.AccountWithMailAsync(20);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        (await nodes.Parent.Api.PostAsync("api/v1/mail/usage/refresh")).Expect(HttpStatusCode.OK);
        var victimUsage = await DiskUsageAsync(victim.Name);
        var twinUsage = await DiskUsageAsync(name);
        Assert.True(victimUsage > 0 && twinUsage > 0, $"measured {victimUsage} and {twinUsage} bytes");

        await using (var db = TestDatabases.OpenContext(nodes.Mail.ConnectionString))
        {
            var parent = (await db.Accounts.SingleAsync(a => a.Username == name)).ParentNodeId;
            db.Accounts.Add(new Account
            {
                Username = victim.Name, Domain = victim.Domain, ContactEmail = $"x@{victim.Domain}", OwnerName = "root", ParentNodeId = parent, CreatedAt = DateTimeOffset.UtcNow,
            });
            await db.SaveChangesAsync();
        }

        try
        {
            var mailbox = Path.Combine(nodes.Mail.MailRoot, domain, "alice", "cur");
            await File.WriteAllBytesAsync(Path.Combine(mailbox, "1795990001.M1P1.hostile:2,S"), new byte[4096]);

            (await nodes.Parent.Api.PostAsync("api/v1/mail/usage/refresh")).Expect(HttpStatusCode.OK);

            Assert.Equal(victimUsage, await DiskUsageAsync(victim.Name));
            Assert.Equal(twinUsage + 4096, await DiskUsageAsync(name));
        }
        finally
        {
            await using var db = TestDatabases.OpenContext(nodes.Mail.ConnectionString);
            await db.Accounts.Where(a => a.Username == victim.Name).ExecuteDeleteAsync();
        }
    }

    private async Task<long> DiskUsageAsync(string account) =>
        (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{account}")).Expect(HttpStatusCode.OK).Body.GetProperty("diskUsageBytes").GetInt64();

    /// <summary>A real SHA512-CRYPT hash, as Portal writes them.</summary>
    private static readonly string Hash = ShaCrypt.HashForDovecot("victim-Kq7vZp3xWm9t");

    /// <summary>
    /// Writes, as an attacker holding the node's database would, hostile mail settings for the account there: a mailbox
    /// reaching into the victim's domain folder, a catch-all forwarder of the victim's domain, a destination that is two
    /// addresses, and a password field that ends its line.
    /// </summary>
    private static async Task<Poison> PoisonAsync(PortalNode node, string username, string victimDomain)
    {
        await using var db = TestDatabases.OpenContext(node.ConnectionString);
        var account = await db.Accounts.SingleAsync(a => a.Username == username);
        var now = DateTimeOffset.UtcNow;
        db.EmailAccounts.Add(new EmailAccount
        {
            AccountId = account.Id, LocalPart = $"../{victimDomain}/ceo", Domain = account.Domain, Address = $"../{victimDomain}/ceo@{account.Domain}",
            PasswordHash = Hash, QuotaBytes = 0, CreatedAt = now, PasswordChangedAt = now,
        });
        db.EmailAccounts.Add(new EmailAccount
        {
            AccountId = account.Id, LocalPart = "carol", Domain = account.Domain, Address = $"carol@{account.Domain}",
            PasswordHash = Hash + ":0:0::/:/bin/sh\nroot", QuotaBytes = 0, CreatedAt = now, PasswordChangedAt = now,
        });
        db.Forwarders.Add(new Forwarder { AccountId = account.Id, Source = $"@{victimDomain}", Destination = "thief@example.org", Enabled = true, CreatedAt = now });
        db.Forwarders.Add(new Forwarder { AccountId = account.Id, Source = $"bob@{account.Domain}", Destination = "a b@example.org", Enabled = true, CreatedAt = now });
        await db.SaveChangesAsync();
        return new Poison(node, account.Id);
    }

    /// <summary>Takes the hostile rows away again: the nodes serve the other tests of the collection.</summary>
    private sealed record Poison(PortalNode Node, long AccountId) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using var db = TestDatabases.OpenContext(Node.ConnectionString);
            await db.EmailAccounts.Where(e => e.AccountId == AccountId && (e.LocalPart.Contains("/") || e.LocalPart == "carol")).ExecuteDeleteAsync();
            await db.Forwarders.Where(f => f.AccountId == AccountId && (f.Source.StartsWith("@") || f.Destination.Contains(" "))).ExecuteDeleteAsync();
        }
    }

    /// <summary>Another tenant on the parent, with mail in a mailbox named ceo.</summary>
    private async Task<Victim> VictimAsync()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(50, ["ceo"]);
        return new Victim(nodes, name, domain, mailboxes["ceo"], MailGenerator.Snapshot(mailboxes["ceo"]));
    }

    private sealed record Victim(MoveFixture Nodes, string Name, string Domain, string Mailbox, SortedDictionary<string, (long Size, string Sha256)> Before)
    {
        public async Task AssertUntouchedAsync()
        {
            Assert.Equal(Before, MailGenerator.Snapshot(Mailbox));
            var addresses = (await Nodes.Parent.Api.GetAsync($"api/v1/accounts/{Name}/mail/addresses")).Expect(HttpStatusCode.OK).Body;
            Assert.Equal([$"ceo@{Domain}"], addresses.EnumerateArray().Select(a => a.GetProperty("address").GetString()));
        }
    }
}
