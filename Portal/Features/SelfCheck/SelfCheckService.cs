namespace Portal.Features.SelfCheck;

/// <summary>Starts the node self-check (admins only), from the UI or the API alike.</summary>
public sealed class SelfCheckService(OperationLauncher launcher, IBackgroundJobClient jobs)
{
    public Task<Guid> StartAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        if (!actor.IsAdmin)
        {
            throw new PortalForbiddenException("Only admins can run the node self-check.");
        }

        var request = new OperationRequest(NodeSelfCheckJob.Kind, "Node self-check", null, NodeSelfCheckJob.Steps);
        return launcher.StartAsync(actor, request,
            id => jobs.Enqueue<NodeSelfCheckJob>(job => job.RunAsync(id, CancellationToken.None)),
            cancellationToken);
    }
}
