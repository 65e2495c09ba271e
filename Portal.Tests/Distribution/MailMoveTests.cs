namespace Portal.Tests.Distribution;

/// <summary>Moving an account's mail to a child loses nothing: whatever happens to the mail, the child, or the parent.</summary>
[Collection(MoveCollection.Name)]
public sealed class MailMoveTests(MoveFixture nodes)
{
    [Fact]
    public async Task Move_WithMailArrivingChangingAndGoingDuringTheCopy_EndsExactlyEqual()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(3000, ["alice", "bob", "carol"]);
        (await nodes.Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/forwarders", new { localPart = "jobs", destination = "/usr/bin/jobs", isPipe = true })).Expect(HttpStatusCode.Created);
        var id = await nodes.StartMoveAsync(name, nodes.Mail);

        await nodes.PauseInBulkAsync(id);
        var generator = new MailGenerator(99);
        foreach (var mailbox in mailboxes.Values)
        {
            generator.Deliver(mailbox, 40);
            generator.Flag(mailbox, 80);
            generator.Trash(mailbox, 15);
            generator.Delete(mailbox, 50);
            // What the parent's Dovecot keeps for clients (UIDs, keywords, subscriptions) travels too, as it is at the switch.
            MailGenerator.WriteState(mailbox, 1795940603);
        }

        var expected = MailSnapshots.Of(mailboxes);
        await nodes.ResumeAsync(id);
        var done = await nodes.WaitFinishedAsync(id);

        Assert.Equal("Succeeded", done.GetProperty("state").GetString());
        Assert.All(done.GetProperty("steps").EnumerateArray(), s => Assert.Equal("Done", s.GetProperty("state").GetString()));
        foreach (var (local, snapshot) in expected.Mailboxes)
        {
            var onChild = MailGenerator.Snapshot(Path.Combine(nodes.Mail.MailRoot, domain, local));
            Assert.Equal(snapshot.Count, onChild.Count);
            Assert.Equal(snapshot, onChild);
            Assert.False(Directory.Exists(mailboxes[local]), $"the parent's copy of {local} should be gone");
        }

        // Out of service at once, the parent's files are deleted once the move has ended (MailTrash).
        var trash = Path.Combine(nodes.Parent.MailRoot, MailTrash.Folder);
        for (var waited = 0; Directory.Exists(trash) && Directory.EnumerateFileSystemEntries(trash).Any() && waited < 30_000; waited += 200)
        {
            await Task.Delay(200);
        }

        Assert.False(Directory.Exists(trash) && Directory.EnumerateFileSystemEntries(trash).Any(), "the parent's discarded mail should be deleted");

        // Routing, DNS and the mail functions follow the child.
        var state = Path.Combine(Path.GetDirectoryName(nodes.Parent.MailRoot)!, "mail-state");
        Assert.Contains($"{domain}:::::::proxy=y host=127.0.0.31 nopassword=y", File.ReadAllText(Path.Combine(state, MailServerAdapter.ProxyFile)));
        Assert.Contains($"{domain} smtp:[127.0.0.31]:25", File.ReadAllText(Path.Combine(state, MailServerAdapter.TransportFile)));
        Assert.DoesNotContain($"@{domain}:", File.ReadAllText(Path.Combine(state, MailServerAdapter.PasswdFile)));
        var childState = Path.Combine(Path.GetDirectoryName(nodes.Mail.MailRoot)!, "mail-state");
        Assert.Contains($"alice@{domain}:{{SHA512-CRYPT}}", File.ReadAllText(Path.Combine(childState, MailServerAdapter.PasswdFile)));
        Assert.Contains($"# pipe (disabled): jobs@{domain} |/usr/bin/jobs", File.ReadAllText(Path.Combine(childState, MailServerAdapter.AliasMapFile)));
        var zone = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/zone")).Body.GetProperty("records").EnumerateArray();
        Assert.Contains(zone, r => r.GetProperty("name").GetString() == "mail" && r.GetProperty("content").GetString() == "127.0.0.31");
        Assert.Equal("mail", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
        var addresses = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Expect(HttpStatusCode.OK).Body.EnumerateArray();
        Assert.Equal(expected.Mailboxes.Count, addresses.Count());
        Assert.Contains(await LogAsync(id), l => l.Contains("pipe to a program", StringComparison.Ordinal));
        // How much moves is information, not a warning (it opened every move's log in orange); the disabled pipe warns.
        var levels = (await nodes.Parent.Api.GetAsync($"api/v1/operations/{id}/log")).Body.EnumerateArray()
            .Select(l => (Message: l.GetProperty("message").GetString()!, Level: l.GetProperty("level").GetString())).ToList();
        Assert.Equal("Info", levels.First(l => l.Message.StartsWith("The account holds ", StringComparison.Ordinal)).Level);
        Assert.Equal("Warning", levels.First(l => l.Message.Contains("pipe to a program", StringComparison.Ordinal)).Level);
        // The pipe the move turned off stays listed, saying why, and cannot be turned on while the mail is on the child.
        var pipe = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}/mail/forwarders")).Expect(HttpStatusCode.OK).Body.EnumerateArray()
            .Single(f => f.GetProperty("isPipe").GetBoolean());
        Assert.False(pipe.GetProperty("enabled").GetBoolean());
        Assert.StartsWith("Off while this account's mail is served by a separate mail server", pipe.GetProperty("disabledReason").GetString());
        var enable = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail/forwarders/{pipe.GetProperty("id").GetInt64()}", new { destination = "/usr/bin/jobs", enabled = true });
        Assert.Equal(HttpStatusCode.BadRequest, enable.Status);
        Assert.Equal("forwarder.pipe_distributed", enable.Code);
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        Assert.Contains(db.Notifications, n => n.Link == $"/admin/operations/{id}" && n.Title.Contains("moved"));
    }

    [Fact]
    public async Task Move_ChildStoppedInTheMiddle_RetriesAndCompletes_WithNoDuplicate()
    {
        // Paused before the copy's first batch: the child stops while the move has everything still to copy.
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(3000);
        var expected = MailSnapshots.Of(mailboxes);
        var id = await nodes.StartMoveAsync(name, nodes.Mail);

        await nodes.PauseInBulkAsync(id);
        await nodes.Mail.StopAsync();
        await nodes.ResumeAsync(id);
        // The job keeps trying while the child is away, and says so.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await LogAsync(id)).Any(l => l.Contains("The child did not answer", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal("Running", (await nodes.OperationAsync(id)).GetProperty("state").GetString());
        await nodes.Mail.RestartAsync();
        var done = await nodes.WaitFinishedAsync(id);

        Assert.Equal("Succeeded", done.GetProperty("state").GetString());
        Assert.Contains(await LogAsync(id), l => l.Contains("The child did not answer", StringComparison.Ordinal));
        expected.AssertSameAt(nodes.Mail.MailRoot, domain);
    }

    [Fact]
    public async Task Move_ParentKilledMidCopy_ResumesFromItsCheckpointAfterARestart()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(3000);
        var expected = MailSnapshots.Of(mailboxes);
        var id = await nodes.StartMoveAsync(name, nodes.Mail);
        await nodes.PauseInBulkAsync(id);
        var before = await nodes.OperationAsync(id);

        await nodes.Parent.KillAsync();
        await nodes.Parent.RestartAsync();
        await nodes.ResumeAsync(id);
        // Taken back at the restart (the job server's invisibility timeout is 5 minutes, as in production).
        var done = await nodes.WaitFinishedAsync(id, TimeSpan.FromSeconds(90));

        Assert.Equal("Succeeded", done.GetProperty("state").GetString());
        Assert.Contains(await LogAsync(id), l => l.Contains("Interrupted at \"Copy the mail (the parent keeps serving)\"", StringComparison.Ordinal));
        Assert.True(done.GetProperty("attempts").GetInt32() >= 2, "the job ran again after the restart");
        Assert.Equal("Done", before.GetProperty("steps").EnumerateArray().First(s => s.GetProperty("key").GetString() == "twin").GetProperty("state").GetString());
        expected.AssertSameAt(nodes.Mail.MailRoot, domain);
    }

    /// <summary>
    /// The parent's database goes away while a move waits (paused in its bulk copy): every connection cut and new ones
    /// refused for 3 s, as in a PostgreSQL restart. The move does not fail (it could not even record that): it waits
    /// for the database, runs again from its checkpoints, says so on its operation, and ends with every message.
    /// </summary>
    [Fact]
    public async Task Move_WhoseDatabaseGoesAwayForAWhile_WaitsForIt_AndFinishesWithEveryMessage()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(600);
        var expected = MailSnapshots.Of(mailboxes);
        var id = await nodes.StartMoveAsync(name, nodes.Mail);
        await nodes.PauseInBulkAsync(id);

        await TestDatabases.OutageAsync(nodes.Parent.ConnectionString, TimeSpan.FromSeconds(3));
        // Back again, the move finds itself paused as it was (an admin's pause outlives the outage) and waits.
        await nodes.WaitAsync(id, o => o.GetProperty("state").GetString() == "Paused");
        await nodes.ResumeAsync(id);
        var done = await nodes.WaitFinishedAsync(id);

        Assert.Equal("Succeeded", done.GetProperty("state").GetString());
        Assert.Contains(await LogAsync(id), l => l.Contains("database was away", StringComparison.Ordinal));
        expected.AssertSameAt(nodes.Mail.MailRoot, domain);
    }

    [Fact]
    public async Task Move_DamagedInTransit_IsDetectedAndSentAgain()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(400);
        var expected = MailSnapshots.Of(mailboxes);

        var done = await nodes.WaitFinishedAsync(await nodes.StartMoveAsync(name, nodes.Flaky));

        Assert.Equal("Succeeded", done.GetProperty("state").GetString());
        var resent = (await LogAsync(done.GetProperty("id").GetString()!)).Count(l => l.Contains("damaged in transit", StringComparison.Ordinal));
        Assert.Equal(3, resent);
        expected.AssertSameAt(nodes.Flaky.MailRoot, domain);
    }

    [Fact]
    public async Task Move_FailingBeforeTheSwitch_LeavesTheParentServing_AndCleansTheChild()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(300);
        var expected = MailSnapshots.Of(mailboxes);

        var done = await nodes.WaitFinishedAsync(await nodes.StartMoveAsync(name, nodes.Broken));

        Assert.Equal("Failed", done.GetProperty("state").GetString());
        Assert.Contains("Nothing changed: this node still serves the mail", done.GetProperty("error").GetString());
        Assert.All(done.GetProperty("steps").EnumerateArray(), s => Assert.Equal("Pending", s.GetProperty("state").GetString()));
        Assert.Equal(JsonValueKind.Null, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeId").ValueKind);
        foreach (var (local, snapshot) in expected.Mailboxes)
        {
            Assert.Equal(snapshot, MailGenerator.Snapshot(mailboxes[local]));
            Assert.False(Directory.Exists(Path.Combine(nodes.Broken.MailRoot, domain, local)));
        }

        Assert.Equal(HttpStatusCode.NotFound, (await nodes.Broken.Api.GetAsync($"api/v1/accounts/{name}")).Status);
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        Assert.Contains(db.Notifications, n => n.Link == $"/admin/operations/{done.GetProperty("id").GetString()}" && n.Kind == Features.Notifications.NotificationKind.Error);
    }

    /// <summary>
    /// The child's disk fills up during the copy (it had said it had room; another tenant's mail, say): the move stops
    /// at once with the reason instead of retrying for half an hour, the parent keeps serving the mail untouched, and
    /// what was copied is removed, which frees the child's disk again.
    /// </summary>
    [Fact]
    public async Task WhenTheChildsDiskFillsUpDuringTheCopy_TheMoveStopsAtOnceSayingSo_AndTheParentKeepsServing()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(300);
        var expected = MailSnapshots.Of(mailboxes);

        // Well within the retry window (90 s here): no waiting for a disk to empty by itself.
        var done = await nodes.WaitFinishedAsync(await nodes.StartMoveAsync(name, nodes.Full), TimeSpan.FromSeconds(60));

        Assert.Equal("Failed", done.GetProperty("state").GetString());
        var error = done.GetProperty("error").GetString();
        Assert.Contains("The mail disk of this node is full", error);
        Assert.Contains("Nothing changed: this node still serves the mail", error);
        Assert.Equal(JsonValueKind.Null, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeId").ValueKind);
        foreach (var (local, snapshot) in expected.Mailboxes)
        {
            Assert.Equal(snapshot, MailGenerator.Snapshot(mailboxes[local]));
            Assert.False(Directory.Exists(Path.Combine(nodes.FullDisk, domain, local)), "the partial copy was removed");
        }

        Assert.True(new DriveInfo(nodes.FullDisk).AvailableFreeSpace > 3L * 1024 * 1024, "the child's disk has its space back");
    }

    [Fact]
    public async Task Preflight_ReportsEveryProblemAtOnce_BeforeAnythingChanges()
    {
        var (name, _, _) = await nodes.AccountWithMailAsync(50, ipv6: true, features: ["Email", "Webmail"]);

        var refused = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = nodes.NodeIds[nodes.Tiny] });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("move.preflight", refused.Code);
        var problems = refused.Body.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToList();
        Assert.Contains(problems, p => p.Contains("IPv6 enabled", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("\"API Tokens\" feature", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("has 1 MiB free on its mail partition", StringComparison.Ordinal));
        Assert.Equal(3, problems.Count);
        var operations = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body;
        Assert.Equal(JsonValueKind.Null, operations.GetProperty("mailNodeId").ValueKind);
    }

    [Fact]
    public async Task ASecondMoveOfTheSameAccount_IsRefusedWithTheRunningOne()
    {
        var (name, _, _) = await nodes.AccountWithMailAsync(3000);
        var id = await nodes.StartMoveAsync(name, nodes.Mail);
        await nodes.PauseInBulkAsync(id);

        var second = await nodes.Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = nodes.NodeIds[nodes.Flaky] });

        Assert.Equal(HttpStatusCode.Conflict, second.Status);
        Assert.Equal("move.in_progress", second.Code);
        Assert.Contains($"/admin/operations/{id}", second.Message);
        await nodes.ResumeAsync(id);
        Assert.Equal("Succeeded", (await nodes.WaitFinishedAsync(id)).GetProperty("state").GetString());
    }

    private async Task<IReadOnlyList<string>> LogAsync(string id) =>
        (await nodes.Parent.Api.GetAsync($"api/v1/operations/{id}/log")).Body.EnumerateArray().Select(l => l.GetProperty("message").GetString()!).ToList();
}
