namespace Portal.Tests.Distribution;

/// <summary>
/// Bringing an account's mail back from a child loses nothing, refuses what would not fit or is damaged before anything
/// switches, and leaves the child's copy for the retention period; a lost child's accounts can be forced back.
/// </summary>
[Collection(MoveCollection.Name)]
public sealed class DedistributionTests(MoveFixture nodes)
{
    [Fact]
    public async Task Dedistribution_WithMailArrivingOnTheChild_EndsExactlyEqual_AndTheChildsCopyGoesAfterTheRetention()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(600);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        var id = await nodes.StartReturnAsync(name);

        // Paused before the switch: the child keeps serving, and its mail changes meanwhile.
        (await nodes.Parent.Api.PostAsync($"api/v1/operations/{id}/pause")).Expect(HttpStatusCode.NoContent);
        await nodes.WaitAsync(id, o => o.GetProperty("state").GetString() == "Paused");
        var onChild = mailboxes.Keys.ToDictionary(local => local, local => Path.Combine(nodes.Mail.MailRoot, domain, local));
        var generator = new MailGenerator(41);
        foreach (var mailbox in onChild.Values)
        {
            generator.Deliver(mailbox, 30);
            generator.Flag(mailbox, 40);
            generator.Trash(mailbox, 10);
            generator.Delete(mailbox, 20);
            MailGenerator.WriteState(mailbox, 1795940540);
        }

        var expected = MailSnapshots.Of(onChild);
        await nodes.ResumeAsync(id);
        var done = await nodes.WaitFinishedAsync(id);

        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());
        Assert.All(done.GetProperty("steps").EnumerateArray(), s => Assert.Equal("Done", s.GetProperty("state").GetString()));
        expected.AssertSameAt(mailboxes);

        // Served here again: DNS, routing, and the mail functions.
        var account = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body;
        Assert.Equal(JsonValueKind.Null, account.GetProperty("mailNodeId").ValueKind);
        var zone = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/zone")).Body.GetProperty("records").EnumerateArray();
        Assert.Contains(zone, r => r.GetProperty("name").GetString() == "mail" && r.GetProperty("content").GetString() == "127.0.0.30");
        var state = Path.Combine(Path.GetDirectoryName(nodes.Parent.MailRoot)!, "mail-state");
        Assert.Contains($"alice@{domain}:{{SHA512-CRYPT}}", File.ReadAllText(Path.Combine(state, MailServerAdapter.PasswdFile)));
        Assert.DoesNotContain($"{domain}::", File.ReadAllText(Path.Combine(state, MailServerAdapter.ProxyFile)));
        Assert.Equal(2, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.GetArrayLength());

        // The child keeps its copy for the retention period, sending what still reaches it to the parent; then it goes.
        var deletion = Assert.Single(await nodes.DeletionsAsync(name));
        var due = deletion.GetProperty("dueAt").GetDateTimeOffset();
        Assert.InRange(due - done.GetProperty("finishedAt").GetDateTimeOffset(), TimeSpan.FromSeconds(20), MoveFixture.Retention + TimeSpan.FromSeconds(1));
        if (deletion.GetProperty("state").GetString() == "Scheduled")
        {
            var childState = Path.Combine(Path.GetDirectoryName(nodes.Mail.MailRoot)!, "mail-state");
            Assert.Contains($"{domain}:::::::proxy=y host=127.0.0.30 nopassword=y", File.ReadAllText(Path.Combine(childState, MailServerAdapter.ProxyFile)));
            // The child's own list says so (it read "Local" for a copy whose mail had gone back).
            var twin = await nodes.Mail.Api.GetAsync($"api/v1/accounts/{name}");
            if (twin.Status == HttpStatusCode.OK)
            {
                Assert.Equal("Parent's account · kept, mail sent on", twin.Body.GetProperty("mailLocation").GetString());
            }
        }

        var deleted = await WaitForDeletionAsync(name, "Done", MoveFixture.Retention + TimeSpan.FromSeconds(60));
        Assert.Contains("Deleted the account and its mail", deleted.GetProperty("outcome").GetString());
        Assert.False(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, domain, "alice")));
        await using var childDb = TestDatabases.OpenContext(nodes.Mail.ConnectionString);
        Assert.False(await childDb.Accounts.AnyAsync(a => a.Username == name));
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        Assert.Contains(db.Notifications, n => n.Link == $"/admin/operations/{id}" && n.Title.Contains("is back"));
        Assert.Contains(db.AuditEntries, e => e.Action == "child-copy.delete" && e.Target == name);
    }

    [Fact]
    public async Task Dedistribution_WithTheParentKilledAfterTheUnpack_ResumesWithTheSameArchive()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(300);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        var id = await nodes.StartReturnAsync(name);
        (await nodes.Parent.Api.PostAsync($"api/v1/operations/{id}/pause")).Expect(HttpStatusCode.NoContent);
        await nodes.WaitAsync(id, o => o.GetProperty("state").GetString() == "Paused");
        var archivesBefore = await ArchiveOperationsAsync(name);

        await nodes.Parent.KillAsync();
        await nodes.Parent.RestartAsync();
        await nodes.ResumeAsync(id);
        var done = await nodes.WaitFinishedAsync(id, TimeSpan.FromSeconds(180));

        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());
        Assert.True(done.GetProperty("attempts").GetInt32() >= 2, "the job ran again after the restart");
        Assert.Equal(1, archivesBefore);
        Assert.Equal(1, await ArchiveOperationsAsync(name)); // no second archive was made
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(nodes.Mail.MailRoot, MailArchive.Folder))); // and the one made is gone
        foreach (var local in mailboxes.Keys)
        {
            Assert.Equal(MailGenerator.Snapshot(Path.Combine(nodes.Mail.MailRoot, domain, local)), MailGenerator.Snapshot(mailboxes[local]));
        }
    }

    private async Task<int> ArchiveOperationsAsync(string username)
    {
        await using var db = TestDatabases.OpenContext(nodes.Mail.ConnectionString);
        return await db.Operations.CountAsync(o => o.Kind == MailArchiveJob.Kind && o.Target == username);
    }

    [Fact]
    public async Task Dedistribution_ThatDoesNotFitHere_IsRefusedWithTheNumbers_AndChangesNothing()
    {
        // The parent reports 40 MiB free; this mail and its archive take more.
        var (name, domain, _) = await nodes.AccountWithMailAsync(1200);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        var before = MailGenerator.Snapshot(Path.Combine(nodes.Mail.MailRoot, domain, "alice"));

        var done = await nodes.WaitFinishedAsync(await nodes.StartReturnAsync(name));

        Assert.Equal("Failed", done.GetProperty("state").GetString());
        var error = done.GetProperty("error").GetString()!;
        Assert.Contains("This node has 40 MiB free on its mail partition", error, StringComparison.Ordinal);
        Assert.Contains("Nothing changed", error, StringComparison.Ordinal);
        Assert.Equal("mail", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
        Assert.False(Directory.Exists(Path.Combine(nodes.Parent.MailRoot, domain)));
        Assert.Equal(before, MailGenerator.Snapshot(Path.Combine(nodes.Mail.MailRoot, domain, "alice")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(nodes.Mail.MailRoot, MailArchive.Folder)));
        Assert.Empty(await nodes.DeletionsAsync(name));
    }

    [Fact]
    public async Task Dedistribution_OfADamagedArchive_IsRefusedBeforeAnythingSwitches()
    {
        var (name, domain, _) = await nodes.AccountWithMailAsync(90);
        await nodes.MoveAndWaitAsync(name, nodes.Decay);
        var before = MailGenerator.Snapshot(Path.Combine(nodes.Decay.MailRoot, domain, "alice"));

        var operation = await nodes.StartReturnAsync(name);
        var done = await nodes.WaitFinishedAsync(operation);

        Assert.Equal("Failed", done.GetProperty("state").GetString());
        Assert.Contains("arrived damaged twice", done.GetProperty("error").GetString(), StringComparison.Ordinal);
        // The admins are alerted (the one who started it once, not twice), just after the failure is recorded.
        await using (var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString))
        {
            var key = $"move-failed:{operation}";
            var link = $"/admin/operations/{operation}";
            for (var waited = 0; waited < 100 && !await db.Notifications.AnyAsync(n => n.Link == link); waited++)
            {
                await Task.Delay(100);
            }

            Assert.Null((await db.Alerts.SingleAsync(a => a.Key == key)).ResolvedAt);
            Assert.Equal(1, await db.Notifications.CountAsync(n => n.Link == link));
        }

        Assert.Equal("decay", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
        Assert.False(Directory.Exists(Path.Combine(nodes.Parent.MailRoot, domain)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(nodes.Parent.MailRoot, MailReceiver.StagingFolder), $"return-*"));
        Assert.Equal(before, MailGenerator.Snapshot(Path.Combine(nodes.Decay.MailRoot, domain, "alice")));
        var zone = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/zone")).Body.GetProperty("records").EnumerateArray();
        Assert.Contains(zone, r => r.GetProperty("name").GetString() == "mail" && r.GetProperty("content").GetString() == "127.0.0.35");
    }

    [Fact]
    public async Task ScheduledDeletions_CanBePostponedCancelledOrRunNow_AndACancelledOneNeverRuns()
    {
        var (kept, keptDomain, _) = await nodes.AccountWithMailAsync(20);
        var (gone, goneDomain, _) = await nodes.AccountWithMailAsync(20);
        await Task.WhenAll(nodes.MoveAndWaitAsync(kept, nodes.Mail), nodes.MoveAndWaitAsync(gone, nodes.Mail));
        var returns = await Task.WhenAll(nodes.StartReturnAsync(kept), nodes.StartReturnAsync(gone));
        foreach (var id in returns)
        {
            Assert.Equal("Succeeded", (await nodes.WaitFinishedAsync(id)).GetProperty("state").GetString());
        }

        var keptDeletion = Assert.Single(await nodes.DeletionsAsync(kept));
        var keptId = keptDeletion.GetProperty("id").GetInt64();
        var originalDue = keptDeletion.GetProperty("dueAt").GetDateTimeOffset();
        // The child's page says when its copy goes, as the parent says it: the date of the return, then the postponed one.
        Assert.Equal(originalDue, await KeptUntilOnChildAsync(kept));
        (await nodes.Parent.Api.PostAsync($"api/v1/scheduled-deletions/{keptId}/postpone", new { by = "1.00:00:00" })).Expect(HttpStatusCode.NoContent);
        Assert.Equal(originalDue.AddDays(1), Assert.Single(await nodes.DeletionsAsync(kept)).GetProperty("dueAt").GetDateTimeOffset());
        Assert.Equal(originalDue.AddDays(1), await KeptUntilOnChildAsync(kept));
        // A date no parent could set is refused by the child, as any input from another node is.
        using var asParent = new PortalApi(nodes.Mail.HostUrl, nodes.ParentTokens[nodes.Mail], PortalNode.AdminUserName);
        var absurd = await asParent.PutAsync($"node-api/v1/accounts/{kept}/mail/kept-until", new { until = DateTimeOffset.UtcNow.AddYears(30) });
        Assert.Equal((HttpStatusCode.BadRequest, "twin.kept_until_invalid"), (absurd.Status, absurd.Code));
        Assert.Equal(originalDue.AddDays(1), await KeptUntilOnChildAsync(kept));
        var badPostpone = await nodes.Parent.Api.PostAsync($"api/v1/scheduled-deletions/{keptId}/postpone", new { by = "00:00:00" });
        Assert.Equal(HttpStatusCode.BadRequest, badPostpone.Status);
        Assert.Equal("deletion.postpone_invalid", badPostpone.Code);
        (await nodes.Parent.Api.PostAsync($"api/v1/scheduled-deletions/{keptId}/cancel")).Expect(HttpStatusCode.NoContent);
        Assert.Null(await KeptUntilOnChildAsync(kept));
        var again = await nodes.Parent.Api.PostAsync($"api/v1/scheduled-deletions/{keptId}/run");
        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.Equal("deletion.not_scheduled", again.Code);

        var goneId = Assert.Single(await nodes.DeletionsAsync(gone)).GetProperty("id").GetInt64();
        (await nodes.Parent.Api.PostAsync($"api/v1/scheduled-deletions/{goneId}/run")).Expect(HttpStatusCode.NoContent);
        await WaitForDeletionAsync(gone, "Done", TimeSpan.FromSeconds(30));
        Assert.False(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, goneDomain)));

        // Past the time the cancelled one was first due, its copy is still there.
        var wait = originalDue - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        Assert.Equal("Cancelled", Assert.Single(await nodes.DeletionsAsync(kept)).GetProperty("state").GetString());
        Assert.True(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, keptDomain, "alice")));
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        Assert.Contains(db.AuditEntries, e => e.Action == "child-copy.deletion.cancel" && e.Target == kept);
        Assert.Contains(db.AuditEntries, e => e.Action == "child-copy.deletion.postpone" && e.Target == kept);

        // An admin who changes their mind schedules the cancelled one again: due a retention period from now, then done.
        var done = await nodes.Parent.Api.PostAsync($"api/v1/scheduled-deletions/{goneId}/schedule");
        Assert.Equal("deletion.not_reschedulable", done.Code);
        (await nodes.Parent.Api.PostAsync($"api/v1/scheduled-deletions/{keptId}/schedule")).Expect(HttpStatusCode.NoContent);
        var rescheduled = Assert.Single(await nodes.DeletionsAsync(kept));
        Assert.Equal("Scheduled", rescheduled.GetProperty("state").GetString());
        Assert.InRange(rescheduled.GetProperty("dueAt").GetDateTimeOffset() - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(20), MoveFixture.Retention);
        await WaitForDeletionAsync(kept, "Done", MoveFixture.Retention + TimeSpan.FromSeconds(30));
        Assert.False(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, keptDomain)));
    }

    private async Task<DateTimeOffset?> KeptUntilOnChildAsync(string name)
    {
        var twin = (await nodes.Mail.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal("Parent's account · kept, mail sent on", twin.GetProperty("mailLocation").GetString());
        return twin.GetProperty("keptUntil") is { ValueKind: JsonValueKind.String } until ? until.GetDateTimeOffset() : null;
    }

    [Fact]
    public async Task Redistribution_FromOneChildToAnother_EndsExactlyEqual_AndTheOldChildsCopyIsScheduledForDeletion()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(500);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        var id = await nodes.StartMoveAsync(name, nodes.Decay);
        (await nodes.Parent.Api.PostAsync($"api/v1/operations/{id}/pause")).Expect(HttpStatusCode.NoContent);
        await nodes.WaitAsync(id, o => o.GetProperty("state").GetString() == "Paused");
        var onSource = mailboxes.Keys.ToDictionary(local => local, local => Path.Combine(nodes.Mail.MailRoot, domain, local));
        var generator = new MailGenerator(43);
        foreach (var mailbox in onSource.Values)
        {
            generator.Deliver(mailbox, 25);
            generator.Flag(mailbox, 30);
            generator.Delete(mailbox, 15);
            MailGenerator.WriteState(mailbox, 1795940777);
        }

        var expected = MailSnapshots.Of(onSource);
        await nodes.ResumeAsync(id);
        var done = await nodes.WaitFinishedAsync(id);

        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());
        expected.AssertSameAt(nodes.Decay.MailRoot, domain);

        Assert.Equal("decay", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
        var zone = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/zone")).Body.GetProperty("records").EnumerateArray();
        Assert.Contains(zone, r => r.GetProperty("name").GetString() == "mail" && r.GetProperty("content").GetString() == "127.0.0.35");
        var state = Path.Combine(Path.GetDirectoryName(nodes.Parent.MailRoot)!, "mail-state");
        Assert.Contains($"{domain} smtp:[127.0.0.35]:25", File.ReadAllText(Path.Combine(state, MailServerAdapter.TransportFile)));
        Assert.Equal(2, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.GetArrayLength());
        var deletion = Assert.Single(await nodes.DeletionsAsync(name));
        Assert.Equal("mail", deletion.GetProperty("nodeAlias").GetString());
        Assert.False(Directory.Exists(Path.Combine(nodes.Parent.MailRoot, domain)), "the mail never lands on the parent");
    }

    [Fact]
    public async Task ApplyingAResellersRouting_StartsOneMovePerAccount_OnlyWhenAnAdminAsks()
    {
        var (reseller, resellerApi) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        var names = new List<string>();
        foreach (var i in new[] { 1, 2 })
        {
            var name = $"rs{i}" + Guid.NewGuid().ToString("N")[..8];
            (await resellerApi.PostAsync("api/v1/accounts", new { username = name, domain = $"{name}.example.test", contactEmail = $"o@{name}.example.test" })).Expect(HttpStatusCode.Created);
            (await resellerApi.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "info", password = "info-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
            new MailGenerator(i).Fill(Path.Combine(nodes.Parent.MailRoot, $"{name}.example.test", "info"), 40);
            names.Add(name);
        }

        (await nodes.Parent.Api.PutAsync($"api/v1/resellers/{reseller}/mail-node", new { nodeId = nodes.NodeIds[nodes.Mail] })).Expect(HttpStatusCode.OK);
        Assert.All(names, n => Assert.False(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, $"{n}.example.test")), "routing alone moves nothing"));
        Assert.Equal(HttpStatusCode.Forbidden, (await resellerApi.PostAsync($"api/v1/resellers/{reseller}/apply-mail-node")).Status);

        var results = (await nodes.Parent.Api.PostAsync($"api/v1/resellers/{reseller}/apply-mail-node")).Expect(HttpStatusCode.OK).Body.EnumerateArray().ToList();

        Assert.Equal(names.Order(), results.Select(r => r.GetProperty("username").GetString()!).Order());
        foreach (var result in results)
        {
            var done = await nodes.WaitFinishedAsync(result.GetProperty("operationId").GetString()!);
            Assert.Equal("Succeeded", done.GetProperty("state").GetString());
        }

        Assert.All(names, n => Assert.True(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, $"{n}.example.test", "info"))));
        foreach (var name in names)
        {
            Assert.Equal("mail", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
        }

        // Applied again, nothing is left to move.
        Assert.Equal(0, (await nodes.Parent.Api.PostAsync($"api/v1/resellers/{reseller}/apply-mail-node")).Expect(HttpStatusCode.OK).Body.GetArrayLength());
    }

    [Fact]
    public async Task Dedistribution_WithMailOfTheAccountStillHere_IsRefused_AndThatMailIsKept()
    {
        var (name, domain, _) = await nodes.AccountWithMailAsync(20);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        // What an earlier move that did not verify leaves behind.
        var leftover = Path.Combine(nodes.Parent.MailRoot, domain, "alice", "cur", "1.left.host:2,S");
        Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
        await File.WriteAllTextAsync(leftover, "Subject: kept\r\n\r\nstill here");

        var done = await nodes.WaitFinishedAsync(await nodes.StartReturnAsync(name));

        Assert.Equal("Failed", done.GetProperty("state").GetString());
        Assert.Contains($"still holds 1 message(s) of {domain}", done.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains($"{domain}/alice/cur/1.left.host:2,S", done.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.True(File.Exists(leftover), "the mail that was here is kept");
        Assert.Equal("mail", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
    }

    [Fact]
    public async Task Dedistribution_OverWhatDovecotKeptHereWithoutAMessage_BringsTheMailsOwnState()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(40);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        var expected = MailSnapshots.Of(mailboxes.Keys.ToDictionary(local => local, local => Path.Combine(nodes.Mail.MailRoot, domain, local)));
        // What Dovecot writes about a mailbox it opened here after its mail left: its own UID list, an index, a quota count.
        var alice = Path.Combine(nodes.Parent.MailRoot, domain, "alice");
        Directory.CreateDirectory(Path.Combine(alice, "cur"));
        await File.WriteAllTextAsync(Path.Combine(alice, "dovecot-uidlist"), "3 V1234 N1 G0\n");
        await File.WriteAllTextAsync(Path.Combine(alice, "dovecot.index.log"), "index");
        await File.WriteAllTextAsync(Path.Combine(alice, Maildir.QuotaFile), "0S\n0 0\n");

        var id = await nodes.StartReturnAsync(name);
        var done = await nodes.WaitFinishedAsync(id);

        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());
        expected.AssertSameAt(mailboxes);

        Assert.False(File.Exists(Path.Combine(alice, "dovecot.index.log")), "Dovecot's index of the empty mailbox was put aside");
        var log = (await nodes.Parent.Api.GetAsync($"api/v1/operations/{id}/log")).Body.EnumerateArray().Select(l => l.GetProperty("message").GetString()!);
        Assert.Contains(log, l => l.Contains("kept 3 file(s) Dovecot wrote about mailboxes of", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dedistribution_OfAnAccountServedHere_IsRefused()
    {
        var (name, _, _) = await nodes.AccountWithMailAsync(5);

        var refused = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = (string?)null });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("move.preflight", refused.Code);
        Assert.Contains("already on this node", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForcedDedistribution_FromAStoppedChild_MakesTheAccountsLocal_OnlyWhenEachNameIsTyped()
    {
        var (name, domain, _) = await nodes.AccountWithMailAsync(30);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        // Made on the child through the parent: the parent keeps knowing it.
        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "carol", password = "carol-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
        var nodeId = nodes.NodeIds[nodes.Mail];
        await nodes.Mail.StopAsync();
        try
        {
            // An ordinary dedistribution cannot reach the child, and says what to do instead.
            var ordinary = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = (string?)null });
            Assert.Equal(HttpStatusCode.BadRequest, ordinary.Status);
            Assert.Contains("force the dedistribution", ordinary.Message, StringComparison.Ordinal);

            var listed = (await nodes.Parent.Api.GetAsync($"api/v1/linked-nodes/{nodeId}/distributed-accounts")).Expect(HttpStatusCode.OK).Body.EnumerateArray()
                .Single(a => a.GetProperty("username").GetString() == name);
            Assert.True(listed.GetProperty("lastMailMessages").GetInt64() > 20, "the last known mail is shown");

            var (local, _, _) = await nodes.AccountWithMailAsync(1);
            var notThere = await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{nodeId}/force-dedistribution", new { usernames = new[] { local }, confirm = new[] { local } });
            Assert.Equal(HttpStatusCode.BadRequest, notThere.Status);
            Assert.Contains($"{local}'s mail is not on mail", notThere.Message, StringComparison.Ordinal);

            var unconfirmed = await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{nodeId}/force-dedistribution", new { usernames = new[] { name }, confirm = new[] { "not-it" } });
            Assert.Equal(HttpStatusCode.BadRequest, unconfirmed.Status);
            Assert.Equal("force.refused", unconfirmed.Code);
            Assert.Contains($"missing: {name}", unconfirmed.Message, StringComparison.Ordinal);
            Assert.Equal("mail", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());

            (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{nodeId}/force-dedistribution", new { usernames = new[] { name }, confirm = new[] { name } })).Expect(HttpStatusCode.OK);

            Assert.Equal(JsonValueKind.Null, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeId").ValueKind);
            var zone = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/zone")).Body.GetProperty("records").EnumerateArray();
            Assert.Contains(zone, r => r.GetProperty("name").GetString() == "mail" && r.GetProperty("content").GetString() == "127.0.0.30");
            var state = Path.Combine(Path.GetDirectoryName(nodes.Parent.MailRoot)!, "mail-state");
            Assert.DoesNotContain($"{domain}::", File.ReadAllText(Path.Combine(state, MailServerAdapter.ProxyFile)));
            Assert.DoesNotContain(domain, File.ReadAllText(Path.Combine(state, MailServerAdapter.TransportFile)));
            // The email accounts come back (empty), with their passwords, served here.
            var addresses = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.EnumerateArray()
                .Select(a => a.GetProperty("address").GetString()).Order().ToList();
            Assert.Equal([$"alice@{domain}", $"bob@{domain}", $"carol@{domain}"], addresses);
            Assert.Contains($"carol@{domain}:{{SHA512-CRYPT}}", File.ReadAllText(Path.Combine(state, MailServerAdapter.PasswdFile)));
            Assert.Empty(Maildir.Enumerate(Path.Combine(nodes.Parent.MailRoot, domain, "alice")));
            await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
            var audit = await db.AuditEntries.Where(e => e.Action == "account.force-dedistribute" && e.Target == name).ToListAsync();
            Assert.Contains(audit, e => e.Outcome == AuditOutcome.Refused);
            Assert.Contains(audit, e => e.Outcome == AuditOutcome.Succeeded && e.Details!.Contains("lost there", StringComparison.Ordinal));
            // No orphan on the child: its copy is deleted after the retention period, as after any move away.
            Assert.Equal("Scheduled", Assert.Single(await nodes.DeletionsAsync(name)).GetProperty("state").GetString());
        }
        finally
        {
            await nodes.Mail.RestartAsync();
            (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{nodeId}/check")).Expect(HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task AnArchiveFetch_BrokenOff_ContinuesWhereItStopped()
    {
        var (name, _, _) = await nodes.AccountWithMailAsync(300);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
        // As the parent calls it: only the token it linked with may.
        var child = new NodeApiClient(new HttpClient(), new NodeEndpoint(
            nodes.Mail.HostUrl, PortalNode.AdminUserName, nodes.ParentTokens[nodes.Mail], VerifyTls: false));
        var archive = (await child.StartMailArchiveAsync(name, Guid.NewGuid(), CancellationToken.None)).Id;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(await child.GetMailArchiveAsync(name, archive, CancellationToken.None)).Succeeded && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var manifest = await child.GetMailArchiveManifestAsync(name, archive, CancellationToken.None);
        var whole = Path.Combine(TestEnvironment.RunFolder, $"{archive:N}-whole");
        await child.DownloadMailArchiveAsync(name, archive, whole, manifest.ArchiveBytes, _ => ValueTask.CompletedTask, CancellationToken.None);
        // A node that sends more than its manifest said is stopped there, whatever it sends.
        var capped = await Assert.ThrowsAsync<NodeRequestException>(() => child.DownloadMailArchiveAsync(
            name, archive, Path.Combine(TestEnvironment.RunFolder, $"{archive:N}-capped"), manifest.ArchiveBytes - 1, _ => ValueTask.CompletedTask, CancellationToken.None));
        Assert.Equal("node.archive_too_long", capped.Code);
        // What a connection broken half-way leaves behind.
        var partial = Path.Combine(TestEnvironment.RunFolder, $"{archive:N}-partial");
        var half = manifest.ArchiveBytes / 2;
        await File.WriteAllBytesAsync(partial, (await File.ReadAllBytesAsync(whole))[..(int)half]);
        long? firstReport = null;

        await child.DownloadMailArchiveAsync(name, archive, partial, manifest.ArchiveBytes, done => { firstReport ??= done; return ValueTask.CompletedTask; }, CancellationToken.None);

        Assert.True(firstReport > half, $"the fetch continued from {half} bytes (first report {firstReport})");
        Assert.Equal(manifest.Sha256, await MailArchive.HashFileAsync(partial, CancellationToken.None));
        await child.DeleteMailArchiveAsync(name, archive, CancellationToken.None);
        Assert.False(File.Exists(MailArchive.ArchivePath(nodes.Mail.MailRoot, archive)));
    }

    private async Task<JsonElement> WaitForDeletionAsync(string account, string state, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var deletion = Assert.Single(await nodes.DeletionsAsync(account));
            if (deletion.GetProperty("state").GetString() == state)
            {
                return deletion;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The deletion of {account}'s copy did not become {state}: {deletion}");
            }

            await Task.Delay(250);
        }
    }
}
