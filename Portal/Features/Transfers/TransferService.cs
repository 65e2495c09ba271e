using Microsoft.AspNetCore.DataProtection;

namespace Portal.Features.Transfers;

/// <summary>What an admin gives to bring an account over from another parent: where it is, and credentials there.</summary>
/// <param name="MailNodeId">A child of this node where the account's mail goes once it is here (the guide's Mail Node choice); null keeps it here.</param>
public sealed record TransferRequest(string? Address, string? AdminUserName, string? Token, string? Username, bool VerifyTls = true, Guid? MailNodeId = null);

/// <summary>A transfer operation's parameters: the source and its token, encrypted with this node's data protection.</summary>
internal sealed record TransferParameters(string BaseUrl, string AdminUserName, string ProtectedToken, bool VerifyTls, Guid? MailNodeId = null);

/// <summary>
/// Starts the transfer of an account from another parent (admins only), after checking at once what can be checked:
/// the address, the credentials, that the account exists there with its mail on that node, and that its names are free
/// here. The token is kept encrypted with the operation, never in the job's arguments or the log.
/// </summary>
public sealed class TransferService(
    IDbContextFactory<PortalDbContext> dbFactory,
    INodeApiClientFactory clients,
    OperationLauncher launcher,
    IBackgroundJobClient jobs,
    IDataProtectionProvider dataProtection,
    AuditLog audit,
    DomainRules domainRules,
    IOptions<PortalSettings> settings)
{
    private readonly IDataProtector _tokens = dataProtection.CreateProtector("Portal.Transfers.Token.v1");

    public async Task<Guid> StartAsync(Actor actor, TransferRequest request, CancellationToken ct = default)
    {
        var username = request.Username?.Trim() ?? "";
        if (!actor.IsAdmin)
        {
            await audit.RecordAsync(actor, "account.transfer", username, AuditOutcome.Refused, "Not an admin.", ct);
            throw new PortalForbiddenException("Only admins transfer accounts between parents.");
        }

        var problems = new List<string>();
        var baseUrl = NodeLinkService.ParseAddress(request.Address, settings.Value.AllowInsecureHttp, problems);
        if (string.IsNullOrWhiteSpace(request.AdminUserName))
        {
            problems.Add("Give the admin user name on the other parent whose API token you use.");
        }

        if (string.IsNullOrWhiteSpace(request.Token))
        {
            problems.Add("Give the token the other parent made for this account's transfer (Node API tokens there, \"Only for the transfer of account\").");
        }

        if (username.Length == 0)
        {
            problems.Add("Give the user name of the account to bring over.");
        }

        if (problems.Count == 0)
        {
            var endpoint = new NodeEndpoint(baseUrl!, request.AdminUserName!.Trim(), request.Token!.Trim(), request.VerifyTls);
            try
            {
                var export = await clients.Create(endpoint).ExportAccountAsync(username, ct);
                problems.AddRange(await ProblemsAsync(export, ct));
                if (request.MailNodeId is { } mailNode)
                {
                    await using var nodes = await dbFactory.CreateDbContextAsync(ct);
                    var choice = (await MailNodes.ChoicesAsync(nodes, ct)).SingleOrDefault(c => c.Id == mailNode);
                    if (choice is not { ServesMail: true })
                    {
                        problems.Add(choice is null ? "The chosen mail node is not linked to this node; choose a linked mail node, or keep the mail here." : $"Node {choice.Alias} does not serve mail; choose a mail node, or keep the mail here.");
                    }

                    if (export.Ipv6Enabled || !export.Account.Features.Contains(AccountFeatures.ApiTokens))
                    {
                        problems.Add($"{username} has IPv6 on or the \"API Tokens\" feature off, which an account whose mail lives on a child cannot have; keep its mail here, or change that on the other parent first.");
                    }
                }
            }
            catch (NodeRequestException ex) when (ex.Status == 404)
            {
                problems.Add($"{baseUrl!.Host} has no account \"{username}\" (or is not a Portal node).");
            }
            catch (NodeApiException ex)
            {
                problems.Add(ex.Message);
            }
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.Operations.AnyAsync(o => o.Target == username && o.Kind == AccountTransferJob.Kind
                && (o.State == OperationState.Queued || o.State == OperationState.Running || o.State == OperationState.Paused), ct))
        {
            problems.Add($"A transfer of {username} is already under way; see Operations.");
        }

        if (problems.Count > 0)
        {
            var message = $"{username} cannot be transferred here: " + string.Join(" ", problems);
            await audit.RecordAsync(actor, "account.transfer", username, AuditOutcome.Refused, message, ct);
            throw new PortalValidationException(message, problems, "transfer.preflight");
        }

        var parameters = new TransferParameters(baseUrl!.ToString(), request.AdminUserName!.Trim(), _tokens.Protect(request.Token!.Trim()), request.VerifyTls, request.MailNodeId);
        var operationRequest = new OperationRequest(AccountTransferJob.Kind, $"Transfer {username} from {baseUrl.Host}", username, AccountTransferJob.Steps);
        var id = await launcher.StartAsync(actor, operationRequest, JsonSerializer.Serialize(parameters),
            operationId => jobs.Enqueue<AccountTransferJob>(job => job.RunAsync(operationId, CancellationToken.None)), ct);
        await audit.RecordAsync(actor, "account.transfer", username, AuditOutcome.Succeeded, $"From {baseUrl.Host}; operation {id}.", ct);
        return id;
    }

    /// <summary>Why an exported account cannot come here (empty when it can).</summary>
    internal async Task<List<string>> ProblemsAsync(AccountExport export, CancellationToken ct)
    {
        var problems = new List<string>();
        // The other parent is untrusted input: the account it sends passes the rules a user's input does.
        if (!MailRules.IsDomain(export.Account.Domain))
        {
            problems.Add($"The source sent the domain \"{MailRules.Printable(export.Account.Domain)}\", which is not a domain name.");
        }
        else if (MailRules.Problems(export.Mail, export.Account.Domain) is { Count: > 0 } bad)
        {
            problems.Add($"The source sent mail settings Portal refuses: {string.Join("; ", bad.Take(10))}. Nothing was taken.");
        }

        if (export.Account.Status is not (nameof(AccountStatus.Active) or nameof(AccountStatus.Suspended)))
        {
            problems.Add($"The source sent the account status \"{MailRules.Printable(export.Account.Status ?? "")}\"; only Active or Suspended is accepted.");
        }

        if (export.OwnerPasswordHash is { } hash && !IsIdentityPasswordHash(hash))
        {
            problems.Add("The source sent its owner's password in a form Portal does not store (an ASP.NET Core Identity hash is expected).");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.Accounts.AnyAsync(a => a.Username == export.Account.Username, ct) || await db.Users.AnyAsync(u => u.UserName == export.Account.Username, ct))
        {
            problems.Add($"This node already has an account or user named {export.Account.Username}.");
        }

        if (await db.Accounts.AnyAsync(a => a.Domain == export.Account.Domain, ct))
        {
            problems.Add($"This node already has an account for {export.Account.Domain}.");
        }
        else if (MailRules.IsDomain(export.Account.Domain))
        {
            // A transferred account belongs to root (the admins) here, like one an admin creates.
            problems.AddRange(await domainRules.ProblemsAsync(export.Account.Domain, "root", ct));
        }

        return problems;
    }

    /// <summary>An ASP.NET Core Identity password hash (version 3: base64 of a 0x01 marker, PBKDF2 parameters, salt, subkey).</summary>
    private static bool IsIdentityPasswordHash(string hash)
    {
        var bytes = new byte[hash.Length];
        return hash.Length is > 40 and < 512 && Convert.TryFromBase64String(hash, bytes, out var length) && length > 13 && bytes[0] == 0x01;
    }

    internal NodeEndpoint EndpointOf(string parametersJson)
    {
        var parameters = JsonSerializer.Deserialize<TransferParameters>(parametersJson) ?? throw new InvalidOperationException("The transfer has no parameters.");
        return new NodeEndpoint(new Uri(parameters.BaseUrl), parameters.AdminUserName, _tokens.Unprotect(parameters.ProtectedToken), parameters.VerifyTls);
    }
}
