using Microsoft.EntityFrameworkCore;
using Portal.Features.Accounts;
using Portal.Features.Identity;
using Portal.Features.Nodes;
using Portal.Infrastructure.Data;
using Portal.Infrastructure.Security;
using Portal.Jobs.Mail;
using Portal.Jobs.Nodes;

namespace Portal.Features.Mail;

/// <summary>
/// An account's mail functions wherever its mail lives: here, or on the child that serves it, which the parent calls
/// over the node API on the user's behalf (the child checks the address belongs to the account). Pages and the API
/// use this, so both work the same for local and distributed accounts.
/// </summary>
public sealed class MailFunctions(
    IDbContextFactory<PortalDbContext> dbFactory,
    MailService local,
    NodeLinkService links,
    INodeApiClientFactory clients)
{
    public async Task<IReadOnlyList<EmailAccountRow>> ListAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return node is null ? await local.ListAsync(account, ct) : await RemoteAsync(node, c => c.ListMailAddressesAsync(username, ct));
    }

    public async Task<EmailAccountRow> CreateAsync(Actor actor, string username, NewEmailAccount request, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return node is null ? await local.CreateAsync(actor, account, request, ct) : await ChangeRemoteAsync(account, node, c => c.CreateMailAddressAsync(username, request, ct), ct);
    }

    public async Task DeleteAsync(Actor actor, string username, string address, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        if (node is null)
        {
            await local.DeleteAsync(actor, account, address, ct);
        }
        else
        {
            await ChangeRemoteAsync(account, node, async c => { await c.DeleteMailAddressAsync(username, address, ct); return true; }, ct);
        }
    }

    public async Task ChangePasswordAsync(Actor actor, string username, string address, string password, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        if (node is null)
        {
            await local.ChangePasswordAsync(actor, account, address, password, ct);
        }
        else
        {
            await ChangeRemoteAsync(account, node, async c => { await c.ChangeMailPasswordAsync(username, address, new PasswordChange(password), ct); return true; }, ct);
        }
    }

    public async Task<IReadOnlyList<ForwarderRow>> ListForwardersAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return node is null ? await local.ListForwardersAsync(account, ct) : await RemoteAsync(node, c => c.ListForwardersAsync(username, ct));
    }

    public async Task<ForwarderRow> AddForwarderAsync(Actor actor, string username, NewForwarder request, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        if (node is not null && request.IsPipe)
        {
            // Said here as well as on the child, so the refusal is the same whether or not the child is reachable.
            throw new PortalValidationException("Forwarding to a program is not available while this account's mail is served by a separate mail server (the program would run there, not where your site is). Forward to an address instead.", code: "forwarder.pipe_distributed");
        }

        return node is null ? await local.AddForwarderAsync(actor, account, request, ct) : await ChangeRemoteAsync(account, node, c => c.AddForwarderAsync(username, request, ct), ct);
    }

    public async Task DeleteForwarderAsync(Actor actor, string username, long id, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        if (node is null)
        {
            await local.DeleteForwarderAsync(actor, account, id, ct);
        }
        else
        {
            await ChangeRemoteAsync(account, node, async c => { await c.DeleteForwarderAsync(username, id, ct); return true; }, ct);
        }
    }

    /// <summary>Where the account's mail lives, for the owner's view: null here, else the child's alias.</summary>
    public async Task<(AccountRow Account, string? MailNode)> WhereAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return (AccountRow.From(account), node?.Alias);
    }

    private async Task<(Account Account, LinkedNode? Node)> ResolveAsync(Actor actor, string username, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var account = await AccountAccess.FindVisibleAsync(db, actor, username, ct);
        var node = account.MailNodeId is { } id ? await db.LinkedNodes.AsNoTracking().SingleAsync(n => n.Id == id, ct) : null;
        return (account, node);
    }

    /// <summary>A change on the child, after which the parent keeps the account's mail settings as they now are there.</summary>
    private async Task<T> ChangeRemoteAsync<T>(Account account, LinkedNode node, Func<NodeApiClient, Task<T>> call, CancellationToken ct)
    {
        var result = await RemoteAsync(node, call);
        try
        {
            var settings = await clients.Create(links.EndpointOf(node)).ExportMailConfigurationAsync(account.Username, ct);
            await RememberSettingsAsync(dbFactory, account.Id, settings, ct);
        }
        catch (NodeApiException)
        {
            // The change is made; the snapshot catches up with the next one.
        }

        return result;
    }

    /// <summary>Keeps the mail settings of an account whose mail is on a child (see <see cref="Account.MailSettingsSnapshot"/>).</summary>
    internal static async Task RememberSettingsAsync(IDbContextFactory<PortalDbContext> dbFactory, long accountId, MailConfiguration? settings, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var json = settings is null ? null : System.Text.Json.JsonSerializer.Serialize(settings);
        await db.Accounts.Where(a => a.Id == accountId).ExecuteUpdateAsync(u => u.SetProperty(a => a.MailSettingsSnapshot, json), ct);
    }

    private async Task<T> RemoteAsync<T>(LinkedNode node, Func<NodeApiClient, Task<T>> call)
    {
        try
        {
            return await call(clients.Create(links.EndpointOf(node)));
        }
        catch (NodeUnreachableException ex)
        {
            throw new PortalUpstreamException($"The mail server of this account ({node.Alias}) cannot be reached: {ex.Message} Try again in a few minutes.", timedOut: ex.InnerException is TaskCanceledException, "mail.node_unreachable");
        }
        catch (NodeRequestException ex) when (ex.Status is 400 or 409)
        {
            throw new PortalValidationException($"The mail node {node.Alias} refused: {ex.Message}", code: ex.Code);
        }
        catch (NodeRequestException ex) when (ex.Status == 404)
        {
            throw new PortalNotFoundException(ex.Message);
        }
        catch (NodeApiException ex)
        {
            throw new PortalUpstreamException($"The mail node {node.Alias} failed: {ex.Message}", timedOut: false);
        }
    }
}
