using Microsoft.Extensions.Logging.Abstractions;

namespace Portal.Tests.Mail;

/// <summary>How every move kind ends when it stops: undone and Cancelled or Failed before its switch, finishable after.</summary>
public sealed class MoveFrameTests
{
    private static MoveStop Stop(bool switched, Func<Task>? undo = null) => new(
        "The move of alice's mail", () => Task.FromResult(switched), undo ?? (() => Task.CompletedTask),
        "this node still serves the mail", "the child's partial copy", "Retry finishes it.");

    [Fact]
    public async Task ACancelBeforeTheSwitch_UndoesTheMove_AndEndsItCancelled()
    {
        var run = new RecordingRun();
        var undone = false;

        await MoveFrame.StoppedAsync(run, new OperationCancelRequestedException(), Stop(false, () => { undone = true; return Task.CompletedTask; }), (_, _, _) => Task.CompletedTask, NullLogger.Instance);

        Assert.True(undone);
        Assert.True(run.StepsReset);
        Assert.Equal("Cancelled", run.Ending!.Value.How);
        Assert.Equal("The move of alice's mail was cancelled by an admin before the switch. Nothing changed: this node still serves the mail, and the child's partial copy was removed.", run.Ending.Value.Message);
    }

    /// <summary>A move resumed after a crash in the middle of its switch, whose effect was made: a cancel seen then is too late.</summary>
    [Fact]
    public async Task ACancelSeenAfterTheSwitchTookEffect_UndoesNothing_AndLeavesTheMoveRetryable()
    {
        var run = new RecordingRun();
        var undone = false;

        await MoveFrame.StoppedAsync(run, new OperationCancelRequestedException(), Stop(true, () => { undone = true; return Task.CompletedTask; }), (_, _, _) => Task.CompletedTask, NullLogger.Instance);

        Assert.False(undone);
        Assert.False(run.StepsReset);
        Assert.Equal("Failed at switch", run.Ending!.Value.How);
        Assert.Contains("could not be cancelled: its switch had taken effect", run.Ending.Value.Message);
    }

    [Fact]
    public async Task AFailureBeforeTheSwitch_WhoseUndoCannotReachTheChild_SaysWhatIsLeft()
    {
        var run = new RecordingRun();
        string? told = null;

        await MoveFrame.StoppedAsync(run, new IOException("disk"), Stop(false, () => throw new NodeUnreachableException("mail-1 did not answer")),
            (_, text, _) => { told = text; return Task.CompletedTask; }, NullLogger.Instance);

        Assert.Equal("Failed", run.Ending!.Value.How);
        Assert.Equal("The move of alice's mail failed before the switch: disk Nothing changed: this node still serves the mail. The child's partial copy could not be removed (mail-1 did not answer); it is removed when the move is tried again.", run.Ending.Value.Message);
        Assert.Equal(run.Ending.Value.Message, told);
        Assert.False(run.StepsReset);
    }
}
