namespace Portal.Jobs.Mail;

/// <summary>How a move names itself and undoes itself when it stops (failed, or cancelled by an admin).</summary>
/// <param name="What">"The move of alice's mail to mail-1": the subject of the operation's message.</param>
/// <param name="HasPassed">Whether that step took effect although it was not recorded done (it failed after its commit).</param>
/// <param name="Undo">Removes what the move made before that point; may fail when the other node is away.</param>
/// <param name="Unchanged">What the stopped move left as it was: "this node still serves the mail".</param>
/// <param name="Undone">What <paramref name="Undo"/> removes: "the child's partial copy"; null when there is nothing to name.</param>
/// <param name="AfterPoint">What an admin does when it stopped past the point: "... run the move again (Retry) to finish ...".</param>
public sealed record MoveStop(
    string What, Func<Task<bool>> HasPassed, Func<Task> Undo, string Unchanged, string? Undone, string AfterPoint);

/// <summary>
/// The one ending of every move kind (distribution, dedistribution, relay, transfer): before its point of no return
/// a stopped move undoes what it made and can be started afresh, after it the move is finished by running it again;
/// a cancel ends it Cancelled, a failure Failed; the admin who asked is told either way.
/// </summary>
public static class MoveFrame
{
    /// <summary>
    /// The "sessions" step of a move out of a child (a return, a relay): duplicates that arrived are carried first, then
    /// the child ends the account's IMAP/POP3 sessions, so clients reconnect to where the mail is now.
    /// </summary>
    public static Task EndChildSessionsAsync(IOperationRun run, MoveRetry retry, NodeApiClient child, string username, string childAlias,
        Func<CancellationToken, Task> carryDuplicates, CancellationToken cancellationToken) =>
        run.StepAsync("sessions", async ct =>
        {
            await carryDuplicates(ct);
            var ended = await retry.RunAsync(() => child.EndMailSessionsAsync(username, ct), ct);
            return ended.Addresses == 0 ? $"No IMAP/POP3 server on {childAlias} to end sessions on." : $"Ended the sessions of {ended.Addresses} mailbox(es) on {childAlias}.";
        }, cancellationToken);

    public static async Task StoppedAsync(IOperationRun run, Exception stopped, MoveStop stop, Func<bool, string, CancellationToken, Task> notify, ILogger logger)
    {
        // The step from which on the move is finished, not undone: a move's switch, a transfer's import.
        var point = Cancellation.PointOfNoReturn(run.Kind) ?? throw new InvalidOperationException($"Operations of kind {run.Kind} have no point of no return.");
        string message;
        var cancelled = stopped is OperationCancelRequestedException;
        var passed = run.IsStepDone(point) || await MoveFailures.SwitchedAsync(stop.HasPassed);
        if (!passed)
        {
            var begins = cancelled
                ? $"{stop.What} was cancelled by an admin before the {point}."
                : $"{stop.What} failed before the {point}: {stopped.Message}";
            try
            {
                await stop.Undo();
                // Undone: a retry starts from the beginning again.
                await run.ResetStepsAsync(CancellationToken.None);
                message = $"{begins} Nothing changed: {stop.Unchanged}{(stop.Undone is { } undone ? $", and {undone} was removed" : "")}.";
            }
            catch (Exception cleanup) when (cleanup is NodeApiException or IOException or UnauthorizedAccessException)
            {
                var what = stop.Undone ?? "what it made";
                message = $"{begins} Nothing changed: {stop.Unchanged}. {char.ToUpperInvariant(what[0])}{what[1..]} could not be removed ({cleanup.Message}); it is removed when the move is tried again.";
            }
        }
        else if (cancelled)
        {
            // Resumed after a crash in the middle of its point of no return, whose effect had been made: too late to
            // undo. It stays retryable (Failed), never Cancelled half-way.
            message = $"{stop.What} could not be cancelled: its {point} had taken effect before the cancel was seen. {stop.AfterPoint}";
            logger.LogWarning("{What}: a cancel came after its {Point} had taken effect", stop.What, point);
            // Its point of no return is marked failed, so a cancel of the failed operation is refused too.
            await run.FailAtAsync(point, message, CancellationToken.None);
            await notify(false, message, CancellationToken.None);
            return;
        }
        else
        {
            message = $"{stop.What} stopped after the {point}: {stopped.Message} {stop.AfterPoint}";
        }

        if (cancelled)
        {
            logger.LogWarning("{What} was cancelled by an admin", stop.What);
            await run.CancelledAsync(message, CancellationToken.None);
        }
        else
        {
            logger.LogError(stopped, "{What} stopped", stop.What);
            await run.FailAsync(message, CancellationToken.None);
        }

        await notify(false, message, CancellationToken.None);
    }
}
