namespace Portal.Tests.Distribution;

/// <summary>
/// Nothing is left behind on a child when links change: the guide's move of a child to a new parent end to end, an
/// unlink that deletes the copies waiting there, and a lost child that loses its copies once it is back.
/// </summary>
[Collection(LifecycleCollection.Name)]
public sealed class LifecycleTests(LifecycleFixture nodes)
{
    [Fact]
    public async Task AChildMovedToANewParent_TheGuidesWay_ServesTheTransferredAccountsMailAgain_OnceItsAdminReleasedTheFormerParentsCopy()
    {
        var (name, domain, mailbox) = await LifecycleFixture.AccountWithMailAsync(nodes.Parent, 60);
        var oldId = nodes.NodeIds[nodes.Moving];
        Assert.Equal("Succeeded", (await LifecycleFixture.MoveAsync(nodes.Parent, name, oldId)).GetProperty("state").GetString());
        // 1. Dedistribute every account on the child: its copy there waits for its scheduled deletion.
        Assert.Equal("Succeeded", (await LifecycleFixture.MoveAsync(nodes.Parent, name, null)).GetProperty("state").GetString());
        var expected = MailGenerator.Snapshot(mailbox);

        // 2. Unlink: refused until the admin says what becomes of the waiting copy; kept here.
        var refused = await nodes.Parent.Api.DeleteAsync($"api/v1/linked-nodes/{oldId}");
        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Equal("node.copies_pending", refused.Code);
        Assert.Contains(name, refused.Message);
        var unlinked = (await nodes.Parent.Api.DeleteAsync($"api/v1/linked-nodes/{oldId}?copies=Keep")).Expect(HttpStatusCode.OK);
        Assert.Contains("stay on moving", unlinked.Body.GetProperty("warnings")[0].GetString());
        var former = Assert.Single((await nodes.Moving.Api.GetAsync("api/v1/node/former-parent-accounts")).Expect(HttpStatusCode.OK).Body.EnumerateArray());
        Assert.Equal(name, former.GetProperty("username").GetString());
        Assert.Equal(60, former.GetProperty("messages").GetInt64());

        // 3. Link it to the new parent. 4. The transfer finds the name held there, and says by whom and what to do.
        var newId = await LifecycleFixture.LinkAsync(nodes.NewParent, nodes.Moving);
        var transferred = await TransferAsync(name);
        Assert.Equal("Failed", transferred.GetProperty("state").GetString());
        Assert.Contains("a former parent left there: its admin releases it", transferred.GetProperty("error").GetString());
        var unconfirmed = await nodes.Moving.Api.PostAsync("api/v1/node/former-parent-accounts/release", new { usernames = new[] { name }, confirm = "yes" });
        Assert.Equal(HttpStatusCode.BadRequest, unconfirmed.Status);
        Assert.Equal("release.invalid", unconfirmed.Code);
        Assert.True(Directory.Exists(Path.Combine(nodes.Moving.MailRoot, domain)), "nothing goes without the confirmation");
        (await nodes.Moving.Api.PostAsync("api/v1/node/former-parent-accounts/release", new { usernames = new[] { name }, confirm = "release" })).Expect(HttpStatusCode.OK);
        Assert.False(Directory.Exists(Path.Combine(nodes.Moving.MailRoot, domain)), "the former parent's copy of the mail should be gone");
        // 5. Transferred with the Transfer Tool's Mail Node choice: its mail goes on to the same child, under the new parent.
        transferred = await TransferAsync(name, newId);
        Assert.True(transferred.GetProperty("state").GetString() == "Succeeded", transferred.ToString());
        var summary = transferred.GetProperty("summary").GetString()!;
        Assert.Contains("moves to the chosen mail node", summary);
        var move = summary[(summary.IndexOf("/admin/operations/", StringComparison.Ordinal) + "/admin/operations/".Length)..][..36];
        var moved = await nodes.NewParent.Api.WaitOperationAsync(move, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed");
        Assert.True(moved.GetProperty("state").GetString() == "Succeeded", moved.ToString());
        Assert.Equal("moving", (await nodes.NewParent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
        Assert.Equal(expected, MailGenerator.Snapshot(Path.Combine(nodes.Moving.MailRoot, domain, "alice")));
        Assert.Empty((await nodes.Moving.Api.GetAsync("api/v1/node/former-parent-accounts")).Expect(HttpStatusCode.OK).Body.EnumerateArray());
    }

    [Fact]
    public async Task UnlinkingAChild_WithItsWaitingCopiesDeletedNow_LeavesNothingOfTheParentsAccountsThere()
    {
        var (name, domain, _) = await LifecycleFixture.AccountWithMailAsync(nodes.Parent, 20);
        var id = nodes.NodeIds[nodes.Leaving];
        Assert.Equal("Succeeded", (await LifecycleFixture.MoveAsync(nodes.Parent, name, id)).GetProperty("state").GetString());
        Assert.Equal("Succeeded", (await LifecycleFixture.MoveAsync(nodes.Parent, name, null)).GetProperty("state").GetString());
        Assert.True(Directory.Exists(Path.Combine(nodes.Leaving.MailRoot, domain)));

        (await nodes.Parent.Api.DeleteAsync($"api/v1/linked-nodes/{id}?copies=DeleteNow")).Expect(HttpStatusCode.OK);

        Assert.False(Directory.Exists(Path.Combine(nodes.Leaving.MailRoot, domain)), "the copy on the child should be gone");
        Assert.Empty((await nodes.Leaving.Api.GetAsync("api/v1/node/former-parent-accounts")).Expect(HttpStatusCode.OK).Body.EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await nodes.Leaving.Api.GetAsync($"api/v1/accounts/{name}")).Status);
        var deletion = (await nodes.Parent.Api.GetAsync("api/v1/scheduled-deletions?all=true")).Body.EnumerateArray().Single(d => d.GetProperty("username").GetString() == name);
        Assert.Equal("Done", deletion.GetProperty("state").GetString());
    }

    [Fact]
    public async Task ALostChild_WhoseAccountsWereForceDedistributed_LosesTheirCopiesOnceItIsBack()
    {
        var (name, domain, _) = await LifecycleFixture.AccountWithMailAsync(nodes.Parent, 20);
        var id = nodes.NodeIds[nodes.Lost];
        Assert.Equal("Succeeded", (await LifecycleFixture.MoveAsync(nodes.Parent, name, id)).GetProperty("state").GetString());
        // A current parent's account is the parent's to remove: the child's admin cannot release it.
        var notFormer = await nodes.Lost.Api.PostAsync("api/v1/node/former-parent-accounts/release", new { usernames = new[] { name }, confirm = "release" });
        Assert.Equal(HttpStatusCode.BadRequest, notFormer.Status);
        Assert.Contains("Not an account of a former parent here", notFormer.Message);

        await nodes.Lost.StopAsync();
        try
        {
            (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{id}/check")).Expect(HttpStatusCode.OK);
            (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{id}/force-dedistribution", new { usernames = new[] { name }, confirm = new[] { name } })).Expect(HttpStatusCode.OK);
            // The copy is due while the child is still away (as after a long outage): its attempts fail meanwhile.
            await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
            Assert.Equal(1, await db.ChildAccountDeletions.Where(d => d.Username == name && d.State == Features.Distribution.ChildDeletionState.Scheduled)
                .ExecuteUpdateAsync(d => d.SetProperty(x => x.DueAt, DateTimeOffset.UtcNow.AddMinutes(-1))));
        }
        finally
        {
            await nodes.Lost.RestartAsync();
        }

        // Seen online again (the minute's health check, or Check now): what came due meanwhile runs.
        (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{id}/check")).Expect(HttpStatusCode.OK);
        var state = "";
        for (var waited = 0; waited < 30_000 && state != "Done"; waited += 250)
        {
            await Task.Delay(250);
            state = (await nodes.Parent.Api.GetAsync("api/v1/scheduled-deletions?all=true")).Body.EnumerateArray()
                .Single(d => d.GetProperty("username").GetString() == name).GetProperty("state").GetString()!;
        }

        Assert.Equal("Done", state);
        Assert.Equal(HttpStatusCode.NotFound, (await nodes.Lost.Api.GetAsync($"api/v1/accounts/{name}")).Status);
        Assert.False(Directory.Exists(Path.Combine(nodes.Lost.MailRoot, domain)));
    }

    [Fact]
    public async Task ChosenAccounts_MovedAsOneOperation_AndEveryAccountOnTheChildBroughtBack_AFewAtATime()
    {
        var prefix = "bk" + Guid.NewGuid().ToString("N")[..6];
        var accounts = new List<(string Name, string Domain, string Mailbox)>();
        foreach (var i in Enumerable.Range(0, 3))
        {
            accounts.Add(await LifecycleFixture.AccountWithMailAsync(nodes.Parent, 30, $"{prefix}{i}"));
        }

        var expected = accounts.ToDictionary(a => a.Name, a => MailGenerator.Snapshot(a.Mailbox));
        var id = nodes.NodeIds[nodes.Bulk];
        var names = accounts.Select(a => a.Name).ToArray();
        var unknown = await nodes.Parent.Api.PostAsync("api/v1/bulk-moves", new { usernames = names.Append("nosuchaccount"), nodeId = id });
        Assert.Equal("bulk.invalid", unknown.Code);
        Assert.Equal("bulk.nothing", (await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{id}/dedistribute-all")).Code);

        // Every account the accounts grid's filters match: here, the user names that start with the prefix.
        var there = await WaitAsync((await nodes.Parent.Api.PostAsync("api/v1/bulk-moves", new { nodeId = id, filter = new { username = prefix } })).Expect(HttpStatusCode.Accepted));
        Assert.True(there.GetProperty("state").GetString() == "Succeeded", there.ToString());
        foreach (var name in names)
        {
            Assert.Equal("bulk", (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeAlias").GetString());
        }

        var back = await WaitAsync((await nodes.Parent.Api.PostAsync($"api/v1/linked-nodes/{id}/dedistribute-all")).Expect(HttpStatusCode.Accepted));

        Assert.True(back.GetProperty("state").GetString() == "Succeeded", back.ToString());
        Assert.Equal(3, back.GetProperty("itemsTotal").GetInt64());
        Assert.Equal(100, back.GetProperty("percent").GetDouble());
        foreach (var (name, _, mailbox) in accounts)
        {
            Assert.Equal(JsonValueKind.Null, (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Body.GetProperty("mailNodeId").ValueKind);
            Assert.Equal(expected[name], MailGenerator.Snapshot(mailbox));
        }

        // One operation per account, never more than two at once (Portal:Distribution:MovesPerNode).
        var moves = back.GetProperty("results").EnumerateArray().Select(r => Guid.Parse(r.GetProperty("value").GetString()!)).ToList();
        Assert.Equal(3, moves.Count);
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        var spans = await db.Operations.Where(o => moves.Contains(o.Id)).Select(o => new { o.StartedAt, o.FinishedAt, o.Kind }).ToListAsync();
        Assert.All(spans, s => Assert.Equal(MailReturnJob.Kind, s.Kind));
        // The most running at one instant: at some move's start, how many had started and not yet finished. (Counting the
        // moves that overlap a move's whole span said 3 when the second overlapped the first and then the third.)
        var most = spans.Max(s => spans.Count(o => o.StartedAt <= s.StartedAt && s.StartedAt < o.FinishedAt));
        Assert.InRange(most, 1, 2);
    }

    private Task<JsonElement> WaitAsync(ApiResponse started) =>
        nodes.Parent.Api.WaitOperationAsync(started.Body.GetProperty("operationId").GetString()!, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed", TimeSpan.FromMinutes(3));

    private async Task<JsonElement> TransferAsync(string name, string? mailNodeId = null)
    {
        var token = await LinkedNodesFixture.TransferTokenAsync(nodes.Parent, name);
        var id = (await nodes.NewParent.Api.PostAsync("api/v1/transfers", new { address = nodes.Parent.HostUrl.ToString(), adminUserName = PortalNode.AdminUserName, token, username = name, verifyTls = false, mailNodeId }))
            .Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
        return await nodes.NewParent.Api.WaitOperationAsync(id, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed");
    }
}
