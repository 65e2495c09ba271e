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
    INodeApiClientFactory clients,
    NodeCircuitBreaker breaker,
    Microsoft.Extensions.Options.IOptions<Infrastructure.Configuration.PortalSettings> settings)
{
    public async Task<IReadOnlyList<EmailAccountRow>> ListAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return node is null ? await local.ListAsync(account, ct) : await RemoteAsync(node, (c, t) => c.ListMailAddressesAsync(username, t), safeToRetry: true, ct);
    }

    public async Task<EmailAccountRow> CreateAsync(Actor actor, string username, NewEmailAccount request, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return node is null ? await local.CreateAsync(actor, account, request, ct) : await ChangeRemoteAsync(account, node, (c, t) => c.CreateMailAddressAsync(username, request, t), ct);
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
            await ChangeRemoteAsync(account, node, async (c, t) => { await c.DeleteMailAddressAsync(username, address, t); return true; }, ct);
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
            await ChangeRemoteAsync(account, node, async (c, t) => { await c.ChangeMailPasswordAsync(username, address, new PasswordChange(password), t); return true; }, ct);
        }
    }

    public async Task<IReadOnlyList<ForwarderRow>> ListForwardersAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        return node is null ? await local.ListForwardersAsync(account, ct) : await RemoteAsync(node, (c, t) => c.ListForwardersAsync(username, t), safeToRetry: true, ct);
    }

    public async Task<ForwarderRow> AddForwarderAsync(Actor actor, string username, NewForwarder request, CancellationToken ct = default)
    {
        var (account, node) = await ResolveAsync(actor, username, ct);
        if (node is not null && request.IsPipe)
        {
            // Said here as well as on the child, so the refusal is the same whether or not the child is reachable.
            throw new PortalValidationException("Forwarding to a program is not available while this account's mail is served by a separate mail server (the program would run there, not where your site is). Forward to an address instead.", code: "forwarder.pipe_distributed");
        }

        return node is null ? await local.AddForwarderAsync(actor, account, request, ct) : await ChangeRemoteAsync(account, node, (c, t) => c.AddForwarderAsync(username, request, t), ct);
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
            await ChangeRemoteAsync(account, node, async (c, t) => { await c.DeleteForwarderAsync(username, id, t); return true; }, ct);
        }
    }

    /// <summary>The password rules of the child that serves the account's mail; null when this node serves it.</summary>
    public async Task<PasswordPolicyView?> MailNodePasswordPolicyAsync(Actor actor, string username, CancellationToken ct = default)
    {
        var (_, node) = await ResolveAsync(actor, username, ct);
        return node is null ? null : await RemoteAsync(node, (c, t) => c.GetPasswordPolicyAsync(t), safeToRetry: true, ct);
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
        // The account and its mail node in one round trip: every proxied call starts here.
        var found = await db.Accounts.AsNoTracking().VisibleTo(actor).Where(a => a.Username == username)
            .Select(a => new { Account = a, Node = db.LinkedNodes.FirstOrDefault(n => n.Id == a.MailNodeId) })
            .SingleOrDefaultAsync(ct)
            ?? throw AccountAccess.NotVisible(username);
        return (found.Account, found.Node);
    }

    /// <summary>A change on the child, after which the parent keeps the account's mail settings as they now are there.</summary>
    private async Task<T> ChangeRemoteAsync<T>(Account account, LinkedNode node, Func<NodeApiClient, CancellationToken, Task<T>> call, CancellationToken ct)
    {
        var result = await RemoteAsync(node, call, safeToRetry: false, ct);
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

    /// <summary>
    /// One call to the child on the user's behalf: within <c>Portal:Distribution:ProxyTimeout</c>, once more after a
    /// failed connection when the call only reads, and not at all while the child's circuit is open (it failed several
    /// times in a row), so a broken child gives a quick, clear 502/504 rather than a hung page.
    /// </summary>
    private async Task<T> RemoteAsync<T>(LinkedNode node, Func<NodeApiClient, CancellationToken, Task<T>> call, bool safeToRetry, CancellationToken ct)
    {
        breaker.ThrowIfOpen(node.Id, node.Alias);
        var client = clients.Create(links.EndpointOf(node));
        for (var attempt = 1; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(settings.Value.Distribution.ProxyTimeout);
            try
            {
                var result = await call(client, timeout.Token);
                breaker.Succeeded(node.Id);
                return result;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                breaker.Failed(node.Id);
                throw new PortalUpstreamException($"The mail server of this account ({node.Alias}) did not answer within {settings.Value.Distribution.ProxyTimeout.TotalSeconds:0} s. Try again in a few minutes.", timedOut: true, "mail.node_timeout");
            }
            catch (NodeUnreachableException ex) when (safeToRetry && attempt == 1 && ex.InnerException is not TaskCanceledException)
            {
                // A read can be asked again at once: the connection may just have been reset.
            }
            catch (NodeUnreachableException ex)
            {
                breaker.Failed(node.Id);
                throw new PortalUpstreamException($"The mail server of this account ({node.Alias}) cannot be reached: {ex.Message} Try again in a few minutes.", timedOut: ex.InnerException is TaskCanceledException, "mail.node_unreachable");
            }
            catch (NodeRequestException ex) when (ex.Status is 400 or 409)
            {
                breaker.Succeeded(node.Id);
                throw new PortalValidationException($"The mail node {node.Alias} refused: {ex.Message}", code: ex.Code);
            }
            catch (NodeRequestException ex) when (ex.Status == 404)
            {
                breaker.Succeeded(node.Id);
                throw new PortalNotFoundException(ex.Message);
            }
            catch (NodeApiException ex)
            {
                breaker.Failed(node.Id);
                throw new PortalUpstreamException($"The mail node {node.Alias} failed: {ex.Message}", timedOut: false);
            }
        }
    }
}

/// <summary>
/// Per child: after <see cref="Threshold"/> failed calls in a row, calls are refused at once for <see cref="OpenFor"/>;
/// then one is let through, and a success closes the circuit again.
/// </summary>
public sealed class NodeCircuitBreaker(TimeProvider clock)
{
    public const int Threshold = 3;

    public static readonly TimeSpan OpenFor = TimeSpan.FromSeconds(30);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, (int Failures, DateTimeOffset OpenUntil)> _state = new();

    public void ThrowIfOpen(Guid nodeId, string alias)
    {
        if (_state.TryGetValue(nodeId, out var state) && state.Failures >= Threshold && clock.GetUtcNow() < state.OpenUntil)
        {
            var wait = (int)Math.Ceiling((state.OpenUntil - clock.GetUtcNow()).TotalSeconds);
            throw new PortalUpstreamException(
                $"The mail server of this account ({alias}) failed {state.Failures} times in a row; Portal stops asking it for {wait} s so pages stay quick. Try again then; if it goes on, tell your provider.",
                timedOut: false, "mail.node_unavailable");
        }
    }

    public void Succeeded(Guid nodeId) => _state.TryRemove(nodeId, out _);

    public void Failed(Guid nodeId) =>
        _state.AddOrUpdate(nodeId, _ => (1, DateTimeOffset.MinValue), (_, s) =>
        {
            var failures = s.Failures + 1;
            return (failures, failures >= Threshold ? clock.GetUtcNow() + OpenFor : s.OpenUntil);
        });
}
