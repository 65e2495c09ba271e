using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Portal.Features.Accounts;
using Portal.Features.Audit;
using Portal.Features.Identity;
using Portal.Features.Mail;
using Portal.Infrastructure.Configuration;
using Portal.Infrastructure.Data;
using Portal.Infrastructure.Security;
using Portal.Jobs.Mail;
using Portal.Jobs.Nodes;

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
        var transfers = api.MapGroup("/transfers/{username}").AddEndpointFilter<Nodes.NodeTokenFilters.TransferOnly>();
        transfers.MapGet("", async (string username, HttpContext http, IDbContextFactory<PortalDbContext> dbFactory, UserManager<PortalUser> users, MailService mail, AuditLog audit, CancellationToken ct) =>
        {
            var account = await FindAsync(username, dbFactory, ct);
            var owner = account.UserId is { } id ? await users.FindByIdAsync(id) : null;
            var (messages, bytes) = account.MailNodeId is null ? await mail.MeasureAsync(account, ct) : (0, 0);
            var actor = Actor.From(http.User, http.Connection.RemoteIpAddress?.ToString());
            await audit.RecordAsync(actor with { Name = $"{actor.Name} (another parent)" }, "account.transfer.export", username, AuditOutcome.Succeeded, "Exported for a transfer to another parent.", ct);
            return new AccountExport(
                new AccountTwin(account.Username, account.Domain, account.ContactEmail, account.Features, account.Status.ToString()),
                account.Ipv6Enabled, owner?.UserName ?? account.OwnerName, owner?.Email, owner?.PasswordHash, account.MailNodeAlias,
                await mail.ExportConfigurationAsync(account, ct), messages, bytes);
        });

        transfers.MapGet("/mail/manifest", async (string username, bool? hashes, bool? sizes, IDbContextFactory<PortalDbContext> dbFactory, MailService service, IOptions<PortalSettings> settings, CancellationToken ct) =>
            await MailCopyEndpoints.ManifestAsync(await FindLocalMailAsync(username, dbFactory, ct), MailCopyEndpoints.DetailOf(hashes, sizes), service, settings.Value, ct));

        transfers.MapGet("/mail/state", async (string username, IDbContextFactory<PortalDbContext> dbFactory, MailService service, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            var account = await FindLocalMailAsync(username, dbFactory, ct);
            return MailReceiver.StateManifest(settings.Value.MailRoot, account.Domain, await service.LocalPartsAsync(account, ct));
        });

        transfers.MapPost("/mail/export", async (string username, MailExportRequest request, HttpContext http, IDbContextFactory<PortalDbContext> dbFactory, MailService service, IOptions<PortalSettings> settings, CancellationToken ct) =>
        {
            await MailCopyEndpoints.ExportAsync(await FindLocalMailAsync(username, dbFactory, ct), request, http, service, settings.Value, ct);
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

    private static async Task<Account> FindLocalMailAsync(string username, IDbContextFactory<PortalDbContext> dbFactory, CancellationToken ct)
    {
        var account = await FindAsync(username, dbFactory, ct);
        return account.MailNodeId is null
            ? account
            : throw new PortalConflictException($"The mail of {username} lives on the child {account.MailNodeAlias}; dedistribute it first.", code: "transfer.distributed");
    }
}
