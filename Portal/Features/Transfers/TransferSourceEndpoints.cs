namespace Portal.Features.Transfers;

/// <summary>
/// The source side of moving an account to another parent (node API, admin node tokens): the account whole, and its
/// mail as manifests and streamed batches. Nothing here changes the account; the admin terminates it here once the
/// other parent serves it.
/// </summary>
public static class TransferSourceEndpoints
{
    public static void MapTransferSourceApi(this IEndpointRouteBuilder api)
    {
        var transfers = api.MapGroup("/transfers/{username}").AddEndpointFilter<NodeTokenFilters.TransferOnly>();
        transfers.MapGet("", async (string username, HttpContext http, IDbContextFactory<PortalDbContext> dbFactory, UserManager<PortalUser> users, MailService mail, MailSource source, AuditLog audit, CancellationToken ct) =>
        {
            var account = await FindAsync(username, dbFactory, ct);
            var owner = account.UserId is { } id ? await users.FindByIdAsync(id) : null;
            var child = await source.ChildOfAsync(account, ct);
            var (messages, bytes) = child is null ? await mail.MeasureAsync(account, ct) : (account.LastMailMessages ?? 0, account.LastMailBytes ?? 0);
            // Mail on a child: its settings as the child has them, checked like anything a node sends.
            var settings = child is null ? await mail.ExportConfigurationAsync(account, ct) : await child.ExportMailConfigurationAsync(username, ct);
            MailRules.EnsureAcceptable(settings, account.Domain, $"this node's child {account.MailNodeAlias}");
            var actor = Actor.From(http.User, http.Connection.RemoteIpAddress?.ToString());
            await audit.RecordAsync(actor with { Name = $"{actor.Name} (another parent)" }, "account.transfer.export", username, AuditOutcome.Succeeded,
                child is null ? "Exported for a transfer to another parent." : $"Exported for a transfer to another parent; its mail is streamed from {account.MailNodeAlias}.", ct);
            return new AccountExport(
                new AccountTwin(account.Username, account.Domain, account.ContactEmail, account.Features, account.Status.ToString()),
                account.Ipv6Enabled, owner?.UserName ?? account.OwnerName, owner?.Email, owner?.PasswordHash, account.MailNodeAlias,
                settings, messages, bytes);
        });

        // The mail as manifests and streamed batches: from this node's Maildirs, or passed on from the child that holds it.
        transfers.MapGet("/mail/manifest", async (string username, bool? hashes, bool? sizes, IDbContextFactory<PortalDbContext> dbFactory, MailService service, MailSource source, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            var account = await FindAsync(username, dbFactory, ct);
            return await source.ChildOfAsync(account, ct) is { } child
                ? await child.GetMailManifestAsync(username, MailCopyEndpoints.DetailOf(hashes, sizes), ct)
                : await MailCopyEndpoints.ManifestAsync(account, MailCopyEndpoints.DetailOf(hashes, sizes), service, settings.Value, ct);
        });

        transfers.MapGet("/mail/state", async (string username, IDbContextFactory<PortalDbContext> dbFactory, MailService service, MailSource source, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            var account = await FindAsync(username, dbFactory, ct);
            return await source.ChildOfAsync(account, ct) is { } child
                ? await child.GetMailStateAsync(username, ct)
                : MailReceiver.StateManifest(settings.Value.MailRoot, account.Domain, await service.LocalPartsAsync(account, ct));
        });

        transfers.MapPost("/mail/export", async (string username, MailExportRequest request, HttpContext http, IDbContextFactory<PortalDbContext> dbFactory, MailService service, MailSource source, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            var account = await FindAsync(username, dbFactory, ct);
            if (await source.ChildOfAsync(account, ct) is { } child)
            {
                // Passed through as the child sends it: the receiving parent checks every file against its digest.
                http.Response.ContentType = MailBatchFormat.MediaType;
                await child.ExportMailAsync(username, request, async body => { await body.CopyToAsync(http.Response.Body, ct); return true; }, ct);
            }
            else
            {
                await MailCopyEndpoints.ExportAsync(account, request, http, service, settings.Value, ct);
            }

            return Results.Empty;
        });
    }

    /// <summary>One of this node's own accounts (not a parent's twin).</summary>
    private static async Task<Account> FindAsync(string username, IDbContextFactory<PortalDbContext> dbFactory, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.Username == username && a.ParentNodeId == null, ct)
            ?? throw new PortalNotFoundException($"There is no account \"{username}\" here to transfer.");
    }

}
