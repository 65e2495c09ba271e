namespace Portal.Jobs.Operations;

/// <summary>
/// One step of an operation as planned before it runs. The weight is the step's share of the whole
/// operation's progress bar (a bulk copy weighs more than a DNS switch).
/// </summary>
public sealed record OperationStepPlan(string Key, string Title, double Weight = 1);

/// <summary>What a caller asks for when it starts an operation: the job kind, what it acts on, and its steps.</summary>
public sealed record OperationRequest(string Kind, string Title, string? Target, IReadOnlyList<OperationStepPlan> Steps);
