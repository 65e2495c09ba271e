namespace Portal.Features.Nodes;

/// <summary>
/// The node API: what a parent calls on its children. Only node API tokens of this node's admins open it (never a
/// session cookie); the token that linked a parent is the one retired when the parent unlinks.
/// </summary>
public static class NodeApiEndpoints
{
    public static void MapNodeApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/node-api/v1")
            .RequireAuthorization(PortalPolicies.NodeApi)
            .AddEndpointFilter<ApiExceptionFilter>()
            .AddEndpointFilter<NodeTokenFilters.ScopeLimit>()
            .ExcludeFromDescription();

        // Open to any admin node token: what linking asks first, and what any node may read.
        api.MapGet("/info", async (NodeIdentityService identity, CancellationToken ct) => (await identity.GetAsync(ct)).ToInfo());

        // Linking records the token it comes with; a parent already linked can only be linked again with that token.
        api.MapPost("/parent", async (LinkParentRequest request, NodeIdentityService identity, HttpContext http, CancellationToken ct) =>
            (await identity.RecordParentAsync(NodeActor(http, request.ParentName), request, NodeTokenFilters.TokenId(http), ct)).ToInfo());

        api.MapPasswordsNodeApi();
        api.MapTransferSourceApi();

        // Only the parent, with the token it linked with.
        var parent = api.MapGroup("").AddEndpointFilter<NodeTokenFilters.ParentOnly>();
        parent.MapPost("/parent/unlink", async (UnlinkParentRequest request, NodeIdentityService identity, ApiTokenService tokens, HttpContext http, CancellationToken ct) =>
        {
            var node = await identity.GetAsync(ct);
            var actor = NodeActor(http, node.Parent?.Name ?? "parent");
            node = await identity.ClearParentAsync(actor, request.ParentNodeId, ct);
            if (NodeTokenFilters.TokenId(http) is { } tokenId)
            {
                await tokens.RetireAsync(tokenId, request.Token, actor.Name, ct);
            }

            return node.ToInfo();
        });

        parent.MapGet("/accounts/existence", async (string username, string domain, AccountTwins accounts, CancellationToken ct) =>
            await accounts.ExistenceAsync(username, domain, ct));

        parent.MapPost("/accounts", async (AccountTwin twin, AccountTwins accounts, HttpContext http, CancellationToken ct) =>
            await accounts.CreateTwinAsync(NodeActor(http, "parent"), twin, ct));

        parent.MapGet("/accounts/{username}", async (string username, AccountTwins accounts, CancellationToken ct) =>
            await accounts.GetTwinAsync(username, ct) ?? throw new PortalNotFoundException($"There is no twin of account {username} here."));

        parent.MapPut("/accounts/{username}", async (string username, AccountTwin twin, AccountTwins accounts, HttpContext http, CancellationToken ct) =>
            await accounts.UpdateTwinAsync(NodeActor(http, "parent"), twin with { Username = username }, ct));

        parent.MapPost("/accounts/{username}/rename", async (string username, TwinRename rename, AccountRenaming renaming, HttpContext http, CancellationToken ct) =>
            await renaming.RenameTwinAsync(NodeActor(http, "parent"), username, rename.NewUsername, ct));

        parent.MapPost("/accounts/{username}/domain", async (string username, TwinDomainChange change, AccountRenaming renaming, HttpContext http, CancellationToken ct) =>
            await renaming.ChangeTwinDomainAsync(NodeActor(http, "parent"), username, change.NewDomain, ct));

        parent.MapDelete("/accounts/{username}", async (string username, AccountTwins accounts, MailCertificates certificates, HttpContext http, CancellationToken ct) =>
        {
            await accounts.DeleteTwinAsync(NodeActor(http, "parent"), username, ct);
            // Its certificate went with it (the row cascades): no longer presented here.
            await certificates.InstallHereAsync(ct);
            return new NodeApiOk();
        });

        parent.MapMailNodeApi();
        parent.MapGet("/mail-usage", async (NodeIdentityService identity, MailUsageService usage, CancellationToken ct) =>
            await usage.MeasureHereAsync((await identity.GetAsync(ct)).Parent?.NodeId ?? throw new PortalConflictException("This node has no parent.", code: "node.not_child"), ct));
        parent.MapMailCopyNodeApi();
        TlsApi.MapTlsNodeApi(parent);

        api.MapGet("/health", async (NodeIdentityService identity, IOptions<PortalSettings> settings, TimeProvider clock, CancellationToken ct) =>
        {
            var node = await identity.GetAsync(ct);
            var (free, total) = MailDisk.Measure(settings.Value);
            return new NodeHealthReport(node.NodeId, node.Version.ToString(), node.Profile.ToString(), free, total, clock.GetUtcNow(), node.PublicIPv4, PanelHost.Requested(settings.Value));
        });
    }

    /// <summary>The audit log's actor for a call from the parent: the admin whose token it used, on behalf of that node.</summary>
    private static Actor NodeActor(HttpContext http, string parentName)
    {
        var actor = Actor.From(http.User, http.Connection.RemoteIpAddress?.ToString());
        return actor with { Name = $"{actor.Name} (via node {parentName})" };
    }
}
