namespace Portal.Tests.Distribution;

/// <summary>
/// Cancelling a move on real nodes: before its switch everything is undone and the operation ends Cancelled; from its
/// switch on it is refused with the reason.
/// </summary>
[Collection(MoveCollection.Name)]
public sealed class CancelTests(MoveFixture nodes)
{
    [Fact]
    public async Task AMovePausedInItsCopy_Cancelled_EndsCancelled_WithTheParentAsItWas_AndNothingLeftOnTheChild()
    {
        var (name, domain, mailboxes) = await nodes.AccountWithMailAsync(600);
        var expected = MailSnapshots.Of(mailboxes);
        var id = await nodes.StartMoveAsync(name, nodes.Mail);
        await nodes.PauseInBulkAsync(id);

        (await nodes.Parent.Api.PostAsync($"api/v1/operations/{id}/cancel")).Expect(HttpStatusCode.Accepted);
        var ended = await nodes.WaitAsync(id, o => o.GetProperty("state").GetString() is "Cancelled" or "Succeeded" or "Failed");

        Assert.Equal("Cancelled", ended.GetProperty("state").GetString());
        Assert.Contains("cancelled by an admin before the switch", ended.GetProperty("summary").GetString());
        Assert.All(ended.GetProperty("steps").EnumerateArray(), s => Assert.Equal("Pending", s.GetProperty("state").GetString()));
        var account = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(JsonValueKind.Null, account.GetProperty("mailNodeId").ValueKind);
        expected.AssertSameAt(mailboxes);

        (await nodes.Mail.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.NotFound);
        Assert.False(Directory.Exists(Path.Combine(nodes.Mail.MailRoot, domain)), "the child's partial copy should be gone");
        // A cancelled operation is not retried, and the account moves again from scratch.
        Assert.Equal(HttpStatusCode.Conflict, (await nodes.Parent.Api.PostAsync($"api/v1/operations/{id}/retry")).Status);
        await nodes.MoveAndWaitAsync(name, nodes.Mail);
    }

    [Fact]
    public async Task AMovePausedWhileItsChildIsLost_CanBeCancelled_AndSaysWhatItLeftThere()
    {
        var (name, _, _) = await nodes.AccountWithMailAsync(600);
        var id = await nodes.StartMoveAsync(name, nodes.Mail);
        await nodes.PauseInBulkAsync(id);
        await nodes.Mail.StopAsync();
        JsonElement ended;
        try
        {
            (await nodes.Parent.Api.PostAsync($"api/v1/operations/{id}/cancel")).Expect(HttpStatusCode.Accepted);
            ended = await nodes.WaitAsync(id, o => o.GetProperty("state").GetString() is "Cancelled" or "Succeeded" or "Failed");
        }
        finally
        {
            await nodes.Mail.RestartAsync();
        }

        Assert.Equal("Cancelled", ended.GetProperty("state").GetString());
        Assert.Contains("could not be removed", ended.GetProperty("summary").GetString());
        var account = (await nodes.Parent.Api.GetAsync($"api/v1/accounts/{name}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(JsonValueKind.Null, account.GetProperty("mailNodeId").ValueKind);
    }

    [Fact]
    public async Task ACancel_IsRefused_FromTheSwitchOn_OnceEnded_AndForKindsThatCannotBeUndone()
    {
        var pastSwitch = await RecordAsync(MailCopyJob.Kind, OperationState.Failed, doneUpTo: "switch");
        var refused = await nodes.Parent.Api.PostAsync($"api/v1/operations/{pastSwitch}/cancel");
        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Equal("operation.past_point_of_no_return", refused.Code);
        Assert.Contains("Retry it to finish", refused.Message);

        var (name, _, _) = await nodes.AccountWithMailAsync(10);
        var move = await nodes.StartMoveAsync(name, nodes.Mail);
        await nodes.WaitFinishedAsync(move);
        Assert.Equal("operation.finished", (await nodes.Parent.Api.PostAsync($"api/v1/operations/{move}/cancel")).Code);

        var selfCheck = await RecordAsync(NodeSelfCheckJob.Kind, OperationState.Running);
        Assert.Equal("operation.not_cancellable", (await nodes.Parent.Api.PostAsync($"api/v1/operations/{selfCheck}/cancel")).Code);

        var (_, owner) = await AccountsFixture.CreateResellerAsync(nodes.Parent);
        Assert.Equal(HttpStatusCode.Forbidden, (await owner.PostAsync($"api/v1/operations/{move}/cancel")).Status);
    }

    [Fact]
    public async Task AQueuedMove_Cancelled_EndsAtOnce_AndAFailedOne_IsNoLongerRetried()
    {
        var queued = await RecordAsync(MailCopyJob.Kind, OperationState.Queued);
        (await nodes.Parent.Api.PostAsync($"api/v1/operations/{queued}/cancel")).Expect(HttpStatusCode.Accepted);
        var ended = await nodes.OperationAsync(queued.ToString());
        Assert.Equal("Cancelled", ended.GetProperty("state").GetString());
        Assert.Contains("before it began", ended.GetProperty("summary").GetString());

        var failed = await RecordAsync(MailCopyJob.Kind, OperationState.Failed);
        (await nodes.Parent.Api.PostAsync($"api/v1/operations/{failed}/cancel")).Expect(HttpStatusCode.Accepted);
        Assert.Equal("Cancelled", (await nodes.OperationAsync(failed.ToString())).GetProperty("state").GetString());
        Assert.Equal("operation.not_failed", (await nodes.Parent.Api.PostAsync($"api/v1/operations/{failed}/retry")).Code);
    }

    /// <summary>An operation row as a job would have left it (no job runs it): its steps done up to and including one.</summary>
    private async Task<Guid> RecordAsync(string kind, OperationState state, string? doneUpTo = null)
    {
        var steps = kind == MailCopyJob.Kind ? MailCopyJob.Steps : NodeSelfCheckJob.Steps;
        var done = doneUpTo is null ? -1 : steps.Select(s => s.Key).ToList().IndexOf(doneUpTo);
        var operation = new Operation
        {
            Id = Guid.CreateVersion7(),
            Kind = kind,
            Title = $"Recorded {kind}",
            Target = "recorded" + Guid.NewGuid().ToString("N")[..6],
            State = state,
            RequestedBy = "test",
            RequestedAt = DateTimeOffset.UtcNow,
            UpdatedAt = DateTimeOffset.UtcNow,
            Steps = steps.Select((s, i) => new OperationStep { Key = s.Key, Title = s.Title, Weight = s.Weight, State = i <= done ? StepState.Done : StepState.Pending }).ToList(),
        };
        await using var db = TestDatabases.OpenContext(nodes.Parent.ConnectionString);
        db.Operations.Add(operation);
        await db.SaveChangesAsync();
        return operation.Id;
    }
}
