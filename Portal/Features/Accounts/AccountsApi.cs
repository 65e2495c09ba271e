namespace Portal.Features.Accounts;

public sealed record ResellerMailNodeChange(Guid? NodeId);

/// <summary>Where an account's mail should live: a linked child, or null for this node (dedistribution).</summary>
public sealed record MailNodeChange(Guid? NodeId);

/// <summary>The accounts API: admins see and manage every account, resellers theirs; thin over the services.</summary>
public static class AccountsApi
{
    public static void MapAccountsApi(this IEndpointRouteBuilder api)
    {
        api.MapGet("/accounts", async ([AsParameters] AccountQuery query, AccountQueries accounts, ICurrentActor actor, CancellationToken ct) =>
            await accounts.FindAsync(await actor.GetAsync(), query, ct));

        api.MapPost("/accounts", async (NewAccount request, AccountService accounts, ICurrentActor actor, CancellationToken ct) =>
        {
            var created = await accounts.CreateAsync(await actor.GetAsync(), request, ct);
            return Results.Created($"/api/v1/accounts/{created.Account.Username}", created);
        });

        api.MapGet("/accounts/{username}", async (string username, AccountQueries accounts, ICurrentActor actor, CancellationToken ct) =>
            await accounts.GetAsync(await actor.GetAsync(), username, ct));

        api.MapPut("/accounts/{username}", async (string username, AccountChange change, AccountService accounts, ICurrentActor actor, CancellationToken ct) =>
            await accounts.ModifyAsync(await actor.GetAsync(), username, change, ct));

        // Terminating starts an operation (admins follow it at the returned location); the account is suspended at once.
        api.MapPost("/accounts/{username}/terminate", async (string username, AccountTerminationRequest request, AccountTermination termination, ICurrentActor actor, CancellationToken ct) =>
        {
            var id = await termination.TerminateAsync(await actor.GetAsync(), username, request, ct);
            return Results.Accepted($"/api/v1/operations/{id}", new { operationId = id });
        });

        api.MapPost("/accounts/{username}/rename", async (string username, AccountRename request, AccountRenaming renaming, ICurrentActor actor, CancellationToken ct) =>
            await renaming.RenameAsync(await actor.GetAsync(), username, request, ct));

        api.MapPost("/accounts/{username}/domain", async (string username, AccountDomainChange request, AccountRenaming renaming, ICurrentActor actor, CancellationToken ct) =>
            await renaming.ChangeDomainAsync(await actor.GetAsync(), username, request, ct));

        api.MapGet("/accounts/{username}/zone", async (string username, DnsZoneService zones, ICurrentActor actor, CancellationToken ct) =>
            await zones.GetAsync(await actor.GetAsync(), username, ct));

        api.MapGet("/accounts/{username}/zone/file", async (string username, DnsZoneService zones, ICurrentActor actor, CancellationToken ct) =>
            Results.Text(await zones.ExportAsync(await actor.GetAsync(), username, ct), "text/dns; charset=utf-8"));
    }

    /// <summary>Admin-only: mail node choices and resellers' mail routing.</summary>
    public static void MapAccountsAdminApi(this IEndpointRouteBuilder api)
    {
        // Moving an account's mail starts a move operation; its progress is at the returned location.
        api.MapPut("/accounts/{username}/mail-node", async (string username, MailNodeChange change, DistributionService distribution, ICurrentActor actor, CancellationToken ct) =>
        {
            var id = await distribution.MoveMailAsync(await actor.GetAsync(), username, change.NodeId ?? DistributionService.ThisNode, ct);
            return Results.Accepted($"/api/v1/operations/{id}", new { operationId = id });
        });

        api.MapGet("/mail-nodes", async (MailNodes nodes, ICurrentActor actor, CancellationToken ct) =>
            await nodes.ChoicesAsync(await actor.GetAsync(), ct));

        api.MapGet("/resellers", async (AccountQueries accounts, ICurrentActor actor, CancellationToken ct) =>
            await accounts.ResellersAsync(await actor.GetAsync(), ct));

        api.MapPut("/resellers/{name}/mail-node", async (string name, ResellerMailNodeChange change, AccountService accounts, ICurrentActor actor, CancellationToken ct) =>
            await accounts.SetResellerMailNodeAsync(await actor.GetAsync(), name, change.NodeId, ct));
    }
}
