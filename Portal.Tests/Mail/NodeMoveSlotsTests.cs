namespace Portal.Tests.Mail;

/// <summary>
/// At most MovesPerNode moves run with one node at once; a move beyond that waits, says so in its log, and starts
/// when one ends, while moves with other nodes go on. A child-to-child move takes a slot of both nodes.
/// </summary>
public sealed class NodeMoveSlotsTests
{
    private static readonly NodeEndpoint A = new(new Uri("https://a.example.test/"), "admin", "t", true);
    private static readonly NodeEndpoint B = new(new Uri("https://b.example.test/"), "admin", "t", true);

    [Fact]
    public async Task AThirdMoveWithTheSameNode_WaitsSayingSo_WhileAMoveWithAnotherNodeStartsAtOnce()
    {
        var slots = new NodeMoveSlots(new MailMoveSettings { MovesPerNode = 2 });
        var first = await slots.EnterAsync(new RecordingRun(), CancellationToken.None, (A, "alpha"));
        var second = await slots.EnterAsync(new RecordingRun(), CancellationToken.None, (A, "alpha"));
        var waiting = new RecordingRun();

        var third = slots.EnterAsync(waiting, CancellationToken.None, (A, "alpha"));
        await using var other = await slots.EnterAsync(new RecordingRun(), CancellationToken.None, (B, "beta")).WaitAsync(TimeSpan.FromSeconds(5));

        await Task.Delay(200);
        Assert.False(third.IsCompleted, "a third move with alpha started");
        Assert.Contains(waiting.Lines, l => l.StartsWith("Waiting: 2 move(s) already run with alpha", StringComparison.Ordinal));
        Assert.Equal(2, slots.Running(A));

        await first.DisposeAsync();
        await using (await third.WaitAsync(TimeSpan.FromSeconds(5)))
        {
            Assert.Equal(2, slots.Running(A));
        }

        await second.DisposeAsync();
        await first.DisposeAsync(); // given back once only
        Assert.Equal(0, slots.Running(A));
    }

    [Fact]
    public async Task AChildToChildMove_HoldsBothNodes_AndAWaiterThatGivesUpHoldsNothing()
    {
        var slots = new NodeMoveSlots(new MailMoveSettings { MovesPerNode = 1 });
        var relay = await slots.EnterAsync(new RecordingRun(), CancellationToken.None, (B, "beta"), (A, "alpha"));
        Assert.Equal((1, 1), (slots.Running(A), slots.Running(B)));

        await relay.DisposeAsync();
        Assert.Equal((0, 0), (slots.Running(A), slots.Running(B)));

        // Another move holds beta; a relay takes alpha, then waits for beta, and gives up: alpha is free again.
        await using var onBeta = await slots.EnterAsync(new RecordingRun(), CancellationToken.None, (B, "beta"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slots.EnterAsync(new RecordingRun(), cancel.Token, (A, "alpha"), (B, "beta")));
        Assert.Equal((0, 1), (slots.Running(A), slots.Running(B)));
    }
}
