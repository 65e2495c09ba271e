namespace Portal.Features.Operations;

/// <summary>
/// Operation changes for open browsers. Writers already coalesce (see <see cref="OperationJournal"/>), so each
/// publish is one re-render at most.
/// </summary>
public sealed class OperationUpdates(ILogger<OperationUpdates> logger) : LiveUpdates<OperationSnapshot>(logger);
