namespace Portal.Tests.Mail;

/// <summary>Email accounts and forwarders, for local accounts and for accounts whose mail a child serves.</summary>
[Collection(AccountsCollection.Name)]
public sealed class MailFunctionTests(AccountsFixture nodes)
{
    [Fact]
    public async Task LocalAccount_EmailAccountIsAMaildirAndAPasswdLineDovecotVerifies()
    {
        var name = AccountsFixture.NewName("ml");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name)).Expect(HttpStatusCode.Created);
        var address = $"alice@{AccountsFixture.NewDomain(name)}";

        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "Alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);

        var line = PasswdLine(nodes.Parent, address);
        var fields = line.Split(':');
        Assert.True(ShaCrypt.VerifyDovecot("alice-Kq7vZp3xWm9t", fields[1]));
        Assert.Equal("5000", fields[2]);
        Assert.EndsWith($"userdb_mail=maildir:{nodes.Parent.MailRoot}/{AccountsFixture.NewDomain(name)}/alice userdb_quota_rule=*:bytes={1024L * 1024 * 1024}", line);
        Assert.True(Directory.Exists(Path.Combine(nodes.Parent.MailRoot, AccountsFixture.NewDomain(name), "alice", ".Trash", "cur")));
        Assert.Contains($"{AccountsFixture.NewDomain(name)} OK", StateFile(nodes.Parent, MailServerAdapter.DomainsFile));

        (await nodes.Parent.Api.DeleteAsync($"api/v1/accounts/{name}/mail/addresses/{address}")).Expect(HttpStatusCode.NoContent);
        Assert.DoesNotContain(address, StateFile(nodes.Parent, MailServerAdapter.PasswdFile));
        Assert.False(Directory.Exists(Path.Combine(nodes.Parent.MailRoot, AccountsFixture.NewDomain(name), "alice")));
    }

    [Theory]
    [InlineData("a b@c.example")]
    [InlineData("a\tb@c.example")]
    [InlineData("a@c.example, d@e.example")]
    public async Task AForwarderDestination_ThatIsNotExactlyOneAddress_IsRefused_AndNothingReachesPostfix(string destination)
    {
        var name = AccountsFixture.NewName("mf");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name)).Expect(HttpStatusCode.Created);

        var refused = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("give one address, like name@example.com, without spaces or commas", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain($"sales@{AccountsFixture.NewDomain(name)}", StateFile(nodes.Parent, MailServerAdapter.AliasMapFile));
    }

    [Fact]
    public async Task DistributedAccount_MailFunctionsThroughTheParent_LandOnTheChild()
    {
        var name = AccountsFixture.NewName("md");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);
        var domain = AccountsFixture.NewDomain(name);

        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "bob", password = "bob-Kq7vZp3xWm9tB" })).Expect(HttpStatusCode.Created);
        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination = $"bob@{domain}" })).Expect(HttpStatusCode.Created);
        var pipe = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "tickets", destination = "/usr/bin/ticket", isPipe = true });
        var listed = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body;

        Assert.Contains($"bob@{domain}:", StateFile(nodes.Mail1, MailServerAdapter.PasswdFile));
        Assert.DoesNotContain($"bob@{domain}", StateFile(nodes.Parent, MailServerAdapter.PasswdFile));
        Assert.True(Directory.Exists(Path.Combine(nodes.Mail1.MailRoot, domain, "bob", "cur")));
        Assert.Contains($"{domain}:::::::proxy=y host={AccountsFixture.Mail1Address} nopassword=y", StateFile(nodes.Parent, MailServerAdapter.ProxyFile));
        Assert.Contains($"{domain} smtp:[{AccountsFixture.Mail1Address}]:25", StateFile(nodes.Parent, MailServerAdapter.TransportFile));
        Assert.DoesNotContain(domain, StateFile(nodes.Parent, MailServerAdapter.DomainsFile));
        Assert.Contains($"sales@{domain} bob@{domain}", StateFile(nodes.Mail1, MailServerAdapter.AliasMapFile));
        Assert.Equal("forwarder.pipe_distributed", pipe.Code);
        Assert.Contains("not available while this account's mail is served by a separate mail server", pipe.Message);
        Assert.Equal($"bob@{domain}", Assert.Single(listed.EnumerateArray()).GetProperty("address").GetString());
    }

    [Fact]
    public async Task AProxiedChange_IsAuditedOnTheParentWithTheRealActor_AndOnTheChildAsTheParentOnTheirBehalf()
    {
        var name = AccountsFixture.NewName("mx");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name, nodes.ToMail1)).Expect(HttpStatusCode.Created);
        var owner = await AccountsFixture.OwnerApiAsync(nodes.Parent, name);
        var address = $"carol@{AccountsFixture.NewDomain(name)}";

        (await owner.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "carol", password = "carol-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);

        await using (var parent = TestDatabases.OpenContext(nodes.Parent.ConnectionString))
        {
            var entry = await EntityFrameworkQueryableExtensions.SingleAsync(parent.AuditEntries.Where(e => e.Action == "email.create" && e.Target == address));
            Assert.Equal(name, entry.ActorName);
            Assert.Equal("On mail node mail-1.", entry.Details);
        }

        await using var child = TestDatabases.OpenContext(nodes.Mail1.ConnectionString);
        var there = await EntityFrameworkQueryableExtensions.SingleAsync(child.AuditEntries.Where(e => e.Action == "email.create" && e.Target == address));
        Assert.EndsWith($"(parent, on behalf of {name})", there.ActorName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Owners_ManageOnlyTheirOwnMail()
    {
        var mine = AccountsFixture.NewName("own");
        var theirs = AccountsFixture.NewName("oth");
        var created = (await nodes.CreateAccountAsync(nodes.Parent.Api, mine)).Expect(HttpStatusCode.Created);
        (await nodes.CreateAccountAsync(nodes.Parent.Api, theirs)).Expect(HttpStatusCode.Created);
        var users = (await nodes.Parent.Api.GetAsync($"api/v1/users?search={mine}")).Body.GetProperty("items");
        var userId = users.EnumerateArray().Single(u => u.GetProperty("userName").GetString() == mine).GetProperty("id").GetString()!;
        using var owner = new PortalApi(nodes.Parent.BaseUrl, await AccountsFixture.SeedTokenAsync(nodes.Parent, userId, mine));

        var own = await owner.PostAsync($"api/v1/accounts/{mine}/mail/addresses", new { localPart = "me", password = "my-own-Kq7vZp3xWm9t" });
        var foreign = await owner.PostAsync($"api/v1/accounts/{theirs}/mail/addresses", new { localPart = "me", password = "my-own-Kq7vZp3xWm9t" });
        var foreignList = await owner.GetAsync($"api/v1/accounts/{theirs}/mail/addresses");

        own.Expect(HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NotFound, foreign.Status);
        Assert.Equal(HttpStatusCode.NotFound, foreignList.Status);
        Assert.NotNull(created);
    }

    [Theory]
    [InlineData("bad local", "strong-Kq7vZp3xWm9t", "The part before @")]
    [InlineData("ok", "password123", "too weak for the rule of node")]
    public async Task BadRequests_AreRefusedWithWhatToFix(string local, string password, string message)
    {
        var name = AccountsFixture.NewName("bad");
        (await nodes.CreateAccountAsync(nodes.Parent.Api, name)).Expect(HttpStatusCode.Created);

        var refused = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = local, password });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains(message, refused.Message);
    }

    /// <summary>
    /// A mailbox's quota changes after creation, here and through the parent on the child, and Dovecot's file says the
    /// new one; a quota out of range is refused, saying the range, and changes nothing.
    /// </summary>
    [Fact]
    public async Task AMailboxQuota_ChangesAfterCreation_LocallyAndOnTheChild_AndAnImpossibleOneIsRefused()
    {
        foreach (var (name, node) in await LocalAndDistributedAsync("mq"))
        {
            var address = $"quinn@{AccountsFixture.NewDomain(name)}";
            (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "quinn", password = "quinn-Kq7vZp3xWm9t", quotaMegabytes = 100 })).Expect(HttpStatusCode.Created);

            (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/quota", new { quotaMegabytes = 250 })).Expect(HttpStatusCode.NoContent);
            Assert.EndsWith($"userdb_quota_rule=*:bytes={250L * 1024 * 1024}", PasswdLine(node, address));
            var listed = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.EnumerateArray().Single();
            Assert.Equal(250L * 1024 * 1024, listed.GetProperty("quotaBytes").GetInt64());

            var refused = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/quota", new { quotaMegabytes = -1 });
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.Contains("between 0 (none) and 10485760 MiB", refused.Message, StringComparison.Ordinal);
            Assert.EndsWith($"userdb_quota_rule=*:bytes={250L * 1024 * 1024}", PasswdLine(node, address));

            (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/quota", new { quotaMegabytes = 0 })).Expect(HttpStatusCode.NoContent);
            Assert.DoesNotContain("quota_rule", PasswdLine(node, address), StringComparison.Ordinal);
            var missing = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/nobody@{AccountsFixture.NewDomain(name)}/quota", new { quotaMegabytes = 5 });
            Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        }
    }

    /// <summary>
    /// A forwarder's destination changes and it is turned off and on again, here and on the child, without deleting
    /// it: Postfix's alias map follows, and the list says why one is off. A bad destination changes nothing.
    /// </summary>
    [Fact]
    public async Task AForwarder_IsEditedAndTurnedOffAndOnAgain_AndPostfixFollows_LocallyAndOnTheChild()
    {
        foreach (var (name, node) in await LocalAndDistributedAsync("mf"))
        {
            var source = $"sales@{AccountsFixture.NewDomain(name)}";
            var id = (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination = "old@example.org" }))
                .Expect(HttpStatusCode.Created).Body.GetProperty("id").GetInt64();

            var edited = (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/forwarders/{id}", new { destination = "new@example.org", enabled = true })).Expect(HttpStatusCode.OK).Body;
            Assert.Equal("new@example.org", edited.GetProperty("destination").GetString());
            Assert.Contains($"{source} new@example.org", StateFile(node, MailServerAdapter.AliasMapFile));

            var off = (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/forwarders/{id}", new { destination = "new@example.org", enabled = false })).Expect(HttpStatusCode.OK).Body;
            Assert.False(off.GetProperty("enabled").GetBoolean());
            Assert.DoesNotContain(source, StateFile(node, MailServerAdapter.AliasMapFile));
            var listed = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/forwarders")).Body.EnumerateArray().Single();
            Assert.Equal("Off: turned off here. Turn it on to forward again.", listed.GetProperty("disabledReason").GetString());

            var bad = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/forwarders/{id}", new { destination = "a@b.example, c@d.example", enabled = true });
            Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
            Assert.DoesNotContain(source, StateFile(node, MailServerAdapter.AliasMapFile));

            (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/forwarders/{id}", new { destination = "new@example.org", enabled = true })).Expect(HttpStatusCode.OK);
            Assert.Contains($"{source} new@example.org", StateFile(node, MailServerAdapter.AliasMapFile));
            Assert.Equal(HttpStatusCode.NotFound, (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/forwarders/{id + 100000}", new { destination = "x@example.org", enabled = true })).Status);
        }
    }

    /// <summary>
    /// Each account's disk usage is its mail, measured where the mail is: here for a local account, reported by the
    /// child for a distributed one. An owner whose mailbox passes 90% of its quota is told once; once it has room again
    /// (under 80%) and fills up again, they are told again.
    /// </summary>
    [Fact]
    public async Task DiskUsage_IsMeasuredHereAndOnTheChild_AndAnOwnerIsWarnedOnce_WhenAMailboxIsNearlyFull()
    {
        foreach (var (name, node) in await LocalAndDistributedAsync("du"))
        {
            var domain = AccountsFixture.NewDomain(name);
            var address = $"quinn@{domain}";
            (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "quinn", password = "quinn-Kq7vZp3xWm9t", quotaMegabytes = 1 })).Expect(HttpStatusCode.Created);
            var message = Path.Combine(node.MailRoot, domain, "quinn", "cur", "1795990000.M1P1.test:2,S");
            await File.WriteAllBytesAsync(message, new byte[1_000_000]);
            var userId = await OwnerIdAsync(name);

            var summary = (await nodes.Parent.Api.PostAsync("api/v1/mail/usage/refresh")).Expect(HttpStatusCode.OK).Body;
            Assert.DoesNotContain(summary.GetProperty("problems").EnumerateArray(), p => p.GetString()!.StartsWith("mail-1", StringComparison.Ordinal));
            Assert.Equal(1_000_000, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("diskUsageBytes").GetInt64());
            Assert.Equal(1, await WarningsAsync(userId, address));

            (await nodes.Parent.Api.PostAsync("api/v1/mail/usage/refresh")).Expect(HttpStatusCode.OK);
            Assert.Equal(1, await WarningsAsync(userId, address));

            File.Delete(message);
            (await nodes.Parent.Api.PostAsync("api/v1/mail/usage/refresh")).Expect(HttpStatusCode.OK);
            Assert.Equal(0, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("diskUsageBytes").GetInt64());
            await File.WriteAllBytesAsync(message, new byte[1_000_000]);
            (await nodes.Parent.Api.PostAsync("api/v1/mail/usage/refresh")).Expect(HttpStatusCode.OK);
            Assert.Equal(2, await WarningsAsync(userId, address));
        }

        // The grid sorts by what was measured.
        var largestFirst = (await nodes.Parent.Api.GetAsync("api/v1/accounts?sort=DiskUsage&descending=true&take=2")).Expect(HttpStatusCode.OK).Body;
        Assert.Contains(largestFirst.GetProperty("items").EnumerateArray(), a => a.GetProperty("diskUsageBytes").GetInt64() >= 1_000_000);
    }

    /// <summary>Addresses and forwarders are filtered and paged where they are kept (the child for a distributed account).</summary>
    [Fact]
    public async Task AddressesAndForwarders_AreSearchedAndPaged_WhereTheyAreKept()
    {
        foreach (var (name, _) in await LocalAndDistributedAsync("mp"))
        {
            foreach (var box in new[] { "anna", "anton", "bert", "bob", "carl" })
            {
                (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = box, password = "mailbox-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
            }

            (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "sales", destination = "Anna.Outside@example.org" })).Expect(HttpStatusCode.Created);
            (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "info", destination = "bert@example.org" })).Expect(HttpStatusCode.Created);

            var page = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses/page?search=AN&take=1&skip=1")).Expect(HttpStatusCode.OK).Body;
            Assert.Equal(2, page.GetProperty("total").GetInt32());
            Assert.Equal([$"anton@{AccountsFixture.NewDomain(name)}"], page.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("address").GetString()));
            var all = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses/page")).Expect(HttpStatusCode.OK).Body;
            Assert.Equal(5, all.GetProperty("total").GetInt32());

            var forwarders = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/forwarders/page?search=anna")).Expect(HttpStatusCode.OK).Body;
            Assert.Equal([$"sales@{AccountsFixture.NewDomain(name)}"], forwarders.GetProperty("items").EnumerateArray().Select(f => f.GetProperty("source").GetString()));
        }
    }

    /// <summary>
    /// A mailbox's autoresponder and filters are kept where its mail is and written as its Sieve script there (through
    /// the parent for a distributed account); settings that break the rules are refused whole and change nothing.
    /// </summary>
    [Fact]
    public async Task AnAutoresponderAndFilters_AreWrittenAsTheMailboxsSieveScript_WhereTheMailIs()
    {
        foreach (var (name, node) in await LocalAndDistributedAsync("sv"))
        {
            var address = $"vera@{AccountsFixture.NewDomain(name)}";
            (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "vera", password = "vera-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
            var script = Path.Combine(Path.GetDirectoryName(node.MailRoot)!, "mail-state", MailServerAdapter.HomesFolder, address, MailServerAdapter.SieveFile);

            var set = new { vacation = new { enabled = true, subject = "Away", body = "Back soon.", days = 2 }, filters = new[] { new { field = "from", match = "is", value = "boss@example.org", action = "move", target = "Boss" } } };
            (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/sieve", set)).Expect(HttpStatusCode.OK);
            Assert.Contains("vacation :days 2 :subject \"Away\"", File.ReadAllText(script), StringComparison.Ordinal);
            Assert.Contains("fileinto :create \"Boss\"", File.ReadAllText(script), StringComparison.Ordinal);
            var read = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses/{address}/sieve")).Expect(HttpStatusCode.OK).Body;
            Assert.Equal("Boss", read.GetProperty("filters")[0].GetProperty("target").GetString());

            var bad = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/sieve",
                new { vacation = (object?)null, filters = new[] { new { field = "from", match = "is", value = "x", action = "move", target = "../other" } } });
            Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
            Assert.Contains("is not a folder name", bad.Message, StringComparison.Ordinal);
            Assert.Contains("fileinto :create \"Boss\"", File.ReadAllText(script), StringComparison.Ordinal);

            (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/{address}/sieve", new { vacation = (object?)null, filters = Array.Empty<object>() })).Expect(HttpStatusCode.OK);
            Assert.False(File.Exists(script), "a mailbox without autoresponder or filters has no script");
        }
    }

    /// <summary>
    /// With a mail limit for the whole account, its mailboxes' quotas together stay within it, locally and on the
    /// child alike: a mailbox without a quota, or one that would pass the limit, is refused saying how much is left.
    /// </summary>
    [Fact]
    public async Task AnAccountsMailLimit_KeepsItsMailboxesQuotasWithinIt_LocallyAndOnTheChild()
    {
        foreach (var (name, _) in await LocalAndDistributedAsync("al"))
        {
            var domain = AccountsFixture.NewDomain(name);
            (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}", new { mailQuotaMegabytes = 100 })).Expect(HttpStatusCode.OK);
            Assert.Equal(100, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailQuotaMegabytes").GetInt32());
            (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "one", password = "one-Kq7vZp3xWm9t", quotaMegabytes = 60 })).Expect(HttpStatusCode.Created);

            var unlimited = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "two", password = "two-Kq7vZp3xWm9t", quotaMegabytes = 0 });
            Assert.Equal(HttpStatusCode.BadRequest, unlimited.Status);
            Assert.Contains("each of its mailboxes needs a quota", unlimited.Message, StringComparison.Ordinal);
            var tooMuch = await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "two", password = "two-Kq7vZp3xWm9t", quotaMegabytes = 50 });
            Assert.Equal(HttpStatusCode.BadRequest, tooMuch.Status);
            Assert.Contains("at most 40 MiB is left for this one", tooMuch.Message, StringComparison.Ordinal);
            (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "two", password = "two-Kq7vZp3xWm9t", quotaMegabytes = 40 })).Expect(HttpStatusCode.Created);
            var raised = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/one@{domain}/quota", new { quotaMegabytes = 61 });
            Assert.Equal("email.account_limit", raised.Code);
            (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/one@{domain}/quota", new { quotaMegabytes = 20 })).Expect(HttpStatusCode.NoContent);

            var negative = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}", new { mailQuotaMegabytes = -5 });
            Assert.Contains("mail limit must be between 0 (none)", negative.Message, StringComparison.Ordinal);
            (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}", new { mailQuotaMegabytes = 0 })).Expect(HttpStatusCode.OK);
            (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/addresses/one@{domain}/quota", new { quotaMegabytes = 0 })).Expect(HttpStatusCode.NoContent);
        }
    }

    private async Task<string> OwnerIdAsync(string name)
    {
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        return (await db.Accounts.SingleAsync(a => a.Username == name)).UserId!;
    }

    private async Task<int> WarningsAsync(string userId, string address)
    {
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        return await db.Notifications.CountAsync(n => n.UserId == userId && n.Title.StartsWith(address + " is "));
    }

    private static string StateFile(PortalNode node, string file) =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(node.MailRoot)!, "mail-state", file));

    private static string PasswdLine(PortalNode node, string address) =>
        StateFile(node, MailServerAdapter.PasswdFile).Split('\n').Single(l => l.StartsWith(address + ":", StringComparison.Ordinal));

    /// <summary>Two new accounts of the parent's, one with its mail here and one with its mail on mail-1, each with the node that keeps its mail.</summary>
    private async Task<(string Name, PortalNode Node)[]> LocalAndDistributedAsync(string prefix)
    {
        var local = AccountsFixture.NewName(prefix);
        var distributed = AccountsFixture.NewName(prefix);
        (await nodes.CreateAccountAsync(nodes.Parent.Api, local)).Expect(HttpStatusCode.Created);
        (await nodes.CreateAccountAsync(nodes.Parent.Api, distributed, nodes.ToMail1)).Expect(HttpStatusCode.Created);
        return [(local, nodes.Parent), (distributed, nodes.Mail1)];
    }
}
