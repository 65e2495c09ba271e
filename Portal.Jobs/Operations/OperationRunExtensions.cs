namespace Portal.Jobs.Operations;

public static class OperationRunExtensions
{
    /// <summary>
    /// Runs one step unless an earlier attempt finished it: marks it started, runs it, and records its summary.
    /// Exceptions propagate, so the caller decides whether the operation fails or is retried.
    /// </summary>
    public static async Task StepAsync(
        this IOperationRun run,
        string stepKey,
        Func<CancellationToken, Task<string?>> body,
        CancellationToken cancellationToken)
    {
        if (run.IsStepDone(stepKey))
        {
            return;
        }

        await run.StartStepAsync(stepKey, cancellationToken);
        var summary = await body(cancellationToken);
        await run.CompleteStepAsync(stepKey, summary, cancellationToken);
    }
}
