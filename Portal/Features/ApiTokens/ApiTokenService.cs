using System.Security.Cryptography;
using System.Text;

namespace Portal.Features.ApiTokens;

public sealed record CreatedToken(ApiTokenRow Token, string Secret);

public sealed record ApiTokenRow(Guid Id, ApiTokenKind Kind, string Name, string OwnerUserName, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt, string? LastUsedFrom, DateTimeOffset? RevokedAt, bool Active, string? TransferAccount = null);

public enum TokenCheck
{
    Valid,
    Malformed,
    Unknown,
    Revoked,
    Expired,
    WrongKind,
    OwnerMismatch,
    NotAdmin,

    /// <summary>An account owner's token while the account's "API Tokens" feature is off.</summary>
    FeatureOff,

    /// <summary>An account owner's token while the account is suspended.</summary>
    Suspended,
}

/// <param name="Detail">What the owner is told beyond the check (a suspension's reason).</param>
public sealed record TokenValidation(TokenCheck Result, ApiToken? Token, PortalUser? Owner, IList<string>? Roles, string? Detail = null)
{
    public bool IsValid => Result == TokenCheck.Valid;
}

/// <summary>
/// Creates, lists, validates and revokes API tokens. Tokens look like <c>ptk_&lt;id&gt;_&lt;secret&gt;</c>: the id finds
/// the row, the secret is compared by hash in constant time. A revoked token is refused from the next request on:
/// every request checks the database.
/// </summary>
public sealed class ApiTokenService(
    IDbContextFactory<PortalDbContext> dbFactory,
    AuditLog audit,
    TimeProvider clock)
{
    private const string Prefix = "ptk_";

    /// <summary>The longest a transfer token may live: long enough for a large transfer, short enough to be no standing key.</summary>
    public static readonly TimeSpan MaxTransferTokenLifetime = TimeSpan.FromDays(7);

    /// <summary>
    /// Creates a token. A node token for <paramref name="transferAccount"/> exports that one local account to another
    /// parent and opens nothing else; it lives 24 hours unless given a shorter or longer (at most 7 days) expiry.
    /// </summary>
    public async Task<CreatedToken> CreateAsync(Actor actor, ApiTokenKind kind, string name, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default, string? transferAccount = null)
    {
        var action = kind == ApiTokenKind.Node ? "node-token.create" : "api-token.create";
        name = name?.Trim() ?? "";
        if (!MayHold(actor, kind))
        {
            await audit.RecordAsync(actor, action, name, AuditOutcome.Refused, "Not allowed to hold such a token.", cancellationToken);
            throw new PortalForbiddenException(kind == ApiTokenKind.Node
                ? "Only admins can create node API tokens."
                : "Only admins, resellers and account owners can create API tokens here.");
        }

        if (actor.ViewedBy is not null)
        {
            await audit.RecordAsync(actor, action, name, AuditOutcome.Refused, "In a view-as session: a token would be the user's credential, made by someone else.", cancellationToken);
            actor.RequireOwnSession("an API token");
        }

        if (actor.IsAccountOwner && !await OwnerMayUseApiAsync(actor.UserId!, cancellationToken))
        {
            const string message = "Your account's \"API Tokens\" feature is off, so it cannot have API tokens. Ask your provider to turn it on.";
            await audit.RecordAsync(actor, action, name, AuditOutcome.Refused, message, cancellationToken);
            throw new PortalForbiddenException(message);
        }

        var problems = new List<string>();
        if (name.Length is 0 or > 100)
        {
            problems.Add("Give the token a name of 1-100 characters that says what uses it, for example \"parent panel.example.com\".");
        }

        if (expiresAt is { } expiry && expiry <= clock.GetUtcNow())
        {
            problems.Add("The expiry must be in the future; leave it empty for a token that does not expire.");
        }

        transferAccount = string.IsNullOrWhiteSpace(transferAccount) ? null : transferAccount.Trim().ToLowerInvariant();
        if (transferAccount is not null)
        {
            expiresAt ??= clock.GetUtcNow().AddHours(24);
            if (kind != ApiTokenKind.Node)
            {
                problems.Add("Only a node API token can be made for a transfer.");
            }
            else if (expiresAt > clock.GetUtcNow() + MaxTransferTokenLifetime)
            {
                problems.Add("A transfer token lives at most 7 days; give an earlier expiry.");
            }

            await using var check = await dbFactory.CreateDbContextAsync(cancellationToken);
            if (!await check.Accounts.AnyAsync(a => a.Username == transferAccount && a.ParentNodeId == null, cancellationToken))
            {
                problems.Add($"This node has no account \"{transferAccount}\" of its own to transfer.");
            }
        }

        if (problems.Count > 0)
        {
            await audit.RecordAsync(actor, action, name, AuditOutcome.Refused, string.Join(" ", problems), cancellationToken);
            throw new PortalValidationException("The token was not created: " + string.Join(" ", problems), problems);
        }

        var (token, secret) = Mint(kind, name, actor.UserId!, actor.Name, clock.GetUtcNow(), expiresAt);
        token.Scope = transferAccount is null ? null : ApiToken.TransferScope(transferAccount);
        var id = token.Id;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            db.ApiTokens.Add(token);
            await db.SaveChangesAsync(cancellationToken);
        }

        await audit.RecordAsync(actor, action, name, AuditOutcome.Succeeded,
            $"Token {id}" + (transferAccount is null ? "" : $", for the transfer of {transferAccount} only") + (expiresAt is { } e ? $", expires {e:u}" : ""), cancellationToken);
        return new CreatedToken(ToRow(token), secret);
    }

    /// <summary>Node tokens are for admins; user tokens for admins and resellers (account owners: the API Tokens feature).</summary>
    /// <summary>Node tokens are for admins; user tokens for admins, resellers and account owners (their own).</summary>
    private static bool MayHold(Actor actor, ApiTokenKind kind) =>
        actor.UserId is not null && (actor.IsAdmin || (kind == ApiTokenKind.User && (actor.IsInRole(PortalRoles.Reseller) || actor.IsInRole(PortalRoles.User))));


    /// <summary>An account owner may use the API while their account has the "API Tokens" feature.</summary>
    private async Task<bool> OwnerMayUseApiAsync(string userId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Accounts.AnyAsync(a => a.UserId == userId && a.Features.Contains(AccountFeatures.ApiTokens), ct);
    }

    /// <summary>A new token: the row to keep (hash only) and the token to show once.</summary>
    internal static (ApiToken Row, string Token) Mint(ApiTokenKind kind, string name, string ownerId, string ownerName, DateTimeOffset now, DateTimeOffset? expiresAt)
    {
        var id = Guid.NewGuid();
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var row = new ApiToken
        {
            Id = id,
            Kind = kind,
            Name = name,
            OwnerUserId = ownerId,
            OwnerUserName = ownerName,
            SecretHash = Hash(secret),
            CreatedAt = now,
            ExpiresAt = expiresAt,
        };
        return (row, $"{Prefix}{id:N}_{secret}");
    }

    public async Task<IReadOnlyList<ApiTokenRow>> ListAsync(Actor actor, ApiTokenKind kind, CancellationToken cancellationToken = default)
    {
        if (!MayHold(actor, kind))
        {
            throw new PortalForbiddenException("You have no API tokens of that kind here.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var q = db.ApiTokens.AsNoTracking().Where(t => t.Kind == kind);
        if (kind == ApiTokenKind.User)
        {
            q = q.Where(t => t.OwnerUserId == actor.UserId);
        }

        return (await q.OrderByDescending(t => t.CreatedAt).ToListAsync(cancellationToken)).Select(ToRow).ToArray();
    }

    public async Task RevokeAsync(Actor actor, Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.ApiTokens.SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        var action = token?.Kind == ApiTokenKind.Node ? "node-token.revoke" : "api-token.revoke";
        if (token is null ? !actor.IsAdmin : !MayHold(actor, token.Kind) || (token.Kind == ApiTokenKind.User && token.OwnerUserId != actor.UserId))
        {
            await audit.RecordAsync(actor, action, id.ToString(), AuditOutcome.Refused, "Not allowed.", cancellationToken);
            throw new PortalForbiddenException("Only admins can revoke node tokens, and only owners their own API tokens.");
        }

        if (token is null)
        {
            throw new PortalNotFoundException("There is no such token (it may have been deleted); reload the list.");
        }

        if (token.RevokedAt is null)
        {
            token.RevokedAt = clock.GetUtcNow();
            token.RevokedBy = actor.Name;
            await db.SaveChangesAsync(cancellationToken);
            ForgetRecentChecks();
        }

        await audit.RecordAsync(actor, action, token.Name, AuditOutcome.Succeeded, $"Token {id}", cancellationToken);
    }

    /// <summary>Revokes every active API token a user holds for the public API (never node tokens); returns how many.</summary>
    public async Task<int> RevokeOwnAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var revoked = await db.ApiTokens
            .Where(t => t.OwnerUserId == actor.UserId && t.Kind == ApiTokenKind.User && t.RevokedAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(t => t.RevokedAt, now).SetProperty(t => t.RevokedBy, actor.Name), cancellationToken);
        ForgetRecentChecks();
        await audit.RecordAsync(actor, "api-token.revoke", actor.Name, AuditOutcome.Succeeded, $"All {revoked} of the user's API tokens.", cancellationToken);
        return revoked;
    }

    /// <summary>How many active API tokens a user holds for the public API.</summary>
    public async Task<int> CountOwnAsync(Actor actor, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow();
        return await db.ApiTokens.CountAsync(t => t.OwnerUserId == actor.UserId && t.Kind == ApiTokenKind.User && t.RevokedAt == null
            && (t.ExpiresAt == null || t.ExpiresAt > now), cancellationToken);
    }

    /// <summary>Retires a node token when the parent that used it unlinks: at once, or in 24 hours.</summary>
    public async Task RetireAsync(Guid id, TokenRetirement retirement, string by, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.ApiTokens.SingleAsync(t => t.Id == id, cancellationToken);
        var now = clock.GetUtcNow();
        if (retirement == TokenRetirement.RevokeNow)
        {
            token.RevokedAt ??= now;
            token.RevokedBy ??= by;
        }
        else
        {
            var inADay = now.AddHours(24);
            token.ExpiresAt = token.ExpiresAt is { } e && e < inADay ? e : inADay;
        }

        await db.SaveChangesAsync(cancellationToken);
        ForgetRecentChecks();
    }

    /// <summary>How fresh a token's "last used" is: written at most once a minute per token.</summary>
    public static readonly TimeSpan LastUseResolution = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Checks a presented token: format, existence, secret, kind, revocation, expiry, and its owner (still an
    /// admin for node tokens; the named user when one is named). Records its last use when it is valid.
    /// </summary>
    public async Task<TokenValidation> ValidateAsync(string presented, ApiTokenKind kind, string? expectedUserName, string? from, CancellationToken cancellationToken = default)
    {
        if (!TryParse(presented, out var id, out var secret))
        {
            return new TokenValidation(TokenCheck.Malformed, null, null, null);
        }

        var now = clock.GetUtcNow();
        if (_recent.TryGetValue(id, out var recent) && now - recent.At < RecentCheckLifetime
            && CryptographicOperations.FixedTimeEquals(recent.Check.Token!.SecretHash, Hash(secret))
            && RefusalOf(recent.Check.Token, kind, expectedUserName, now) is null
            && LastUseIsFresh(recent.Check.Token, from, now))
        {
            return recent.Check;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.ApiTokens.SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (token is null || !CryptographicOperations.FixedTimeEquals(token.SecretHash, Hash(secret)))
        {
            return new TokenValidation(TokenCheck.Unknown, null, null, null);
        }

        if (token.RevokedAt is not null)
        {
            return new TokenValidation(TokenCheck.Revoked, token, null, null);
        }

        if (RefusalOf(token, kind, expectedUserName, now) is { } refusal)
        {
            return new TokenValidation(refusal, token, null, null);
        }

        // The owner and their roles in one query: this runs on every API request.
        var found = await db.Users.AsNoTracking().Where(u => u.Id == token.OwnerUserId)
            .Select(u => new { User = u, Roles = db.UserRoles.Where(ur => ur.UserId == u.Id).Join(db.Roles, ur => ur.RoleId, r => r.Id, (_, r) => r.Name!).ToList() })
            .SingleOrDefaultAsync(cancellationToken);
        // Only an admin's deliberate lock stops a user's tokens. The lockout that failed sign-ins cause is about the
        // password, which a token is not: a stranger typing wrong passwords at the sign-in page must not be able to cut
        // a parent off from its child (node tokens) or stop an owner's scripts.
        if (found is null || UserLocks.IsDisabled(found.User))
        {
            return new TokenValidation(TokenCheck.Unknown, token, null, null);
        }

        var (owner, roles) = (found.User, (IList<string>)found.Roles);
        // An account owner's tokens work while the account is active and has the "API Tokens" feature.
        if (roles.Count == 1 && roles[0] == PortalRoles.User
            && await db.Accounts.Where(a => a.UserId == owner.Id).Select(a => new { a.Username, a.Features, a.Status, a.SuspensionReason }).FirstOrDefaultAsync(cancellationToken) is { } account)
        {
            if (account.Status == AccountStatus.Suspended)
            {
                return new TokenValidation(TokenCheck.Suspended, token, owner, roles, AccountSuspension.Explain(account.Username, account.SuspensionReason));
            }

            if (!account.Features.Contains(AccountFeatures.ApiTokens))
            {
                return new TokenValidation(TokenCheck.FeatureOff, token, owner, roles);
            }
        }

        if (kind == ApiTokenKind.Node && !roles.Contains(PortalRoles.Admin))
        {
            return new TokenValidation(TokenCheck.NotAdmin, token, owner, roles);
        }

        // Last use is kept to the minute (and on a new address at once): a write per request would cost every call.
        if (!LastUseIsFresh(token, from, now))
        {
            token.LastUsedAt = now;
            token.LastUsedFrom = from;
            await db.SaveChangesAsync(cancellationToken);
        }

        var valid = new TokenValidation(TokenCheck.Valid, token, owner, roles);
        _recent[id] = (valid, now);
        return valid;
    }

    /// <summary>
    /// How long a valid check is reused for the same token (every API call checks its token, on the parent and again
    /// on the child for a proxied call). Whatever this node changes that could refuse a token (revoking, retiring,
    /// locking its owner, an account's features) forgets the checks at once; the lifetime only bounds how late a
    /// change made outside this process (straight in the database) is seen.
    /// </summary>
    public static readonly TimeSpan RecentCheckLifetime = TimeSpan.FromSeconds(10);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, (TokenValidation Check, DateTimeOffset At)> _recent = new();

    /// <summary>What this call asks of the token itself, checked on every call, a reused check's included.</summary>
    private static TokenCheck? RefusalOf(ApiToken token, ApiTokenKind kind, string? expectedUserName, DateTimeOffset now) =>
        token.ExpiresAt is { } expiry && expiry <= now ? TokenCheck.Expired
        : token.Kind != kind ? TokenCheck.WrongKind
        : expectedUserName is not null && !string.Equals(expectedUserName, token.OwnerUserName, StringComparison.Ordinal) ? TokenCheck.OwnerMismatch
        : null;

    private static bool LastUseIsFresh(ApiToken token, string? from, DateTimeOffset now) =>
        token.LastUsedAt is { } last && now - last < LastUseResolution && token.LastUsedFrom == from;

    /// <summary>Forgets the recent valid checks, so the next call of every token is checked against the database.</summary>
    public void ForgetRecentChecks() => _recent.Clear();

    /// <summary>The message a refused token gets, saying what to do.</summary>
    public static (string Code, string Message) Explain(TokenValidation check, string nodeName) => check.Result switch
    {
        TokenCheck.Malformed or TokenCheck.Unknown => ("token.invalid", $"The API token is not valid on node {nodeName}. Create a new token on that node (Node API tokens) and use it."),
        TokenCheck.Revoked => ("token.revoked", $"The API token was revoked on node {nodeName}. Create a new one there."),
        TokenCheck.Expired => ("token.expired", $"The API token has expired on node {nodeName}. Create a new one there."),
        TokenCheck.WrongKind => ("token.not_admin", $"That token is not a node API token of node {nodeName}: only an admin's node API token may link or manage nodes."),
        TokenCheck.OwnerMismatch => ("token.user_mismatch", $"The API token does not belong to that user on node {nodeName}. Give the user name of the admin who created the token."),
        TokenCheck.NotAdmin => ("token.not_admin", $"The token's owner is not an admin on node {nodeName}; only an admin's token may link or manage nodes."),
        TokenCheck.Suspended => ("account.suspended", $"{check.Detail} Its API tokens are refused on node {nodeName} until it is active again."),
        TokenCheck.FeatureOff => ("token.feature_off", $"The account's \"API Tokens\" feature is off on node {nodeName}, so its tokens are refused. Ask your provider to turn it on."),
        _ => ("token.invalid", "The API token was refused."),
    };

    internal static bool TryParse(string presented, out Guid id, out string secret)
    {
        id = default;
        secret = "";
        if (!presented.StartsWith(Prefix, StringComparison.Ordinal) || presented.Length < Prefix.Length + 34)
        {
            return false;
        }

        var idPart = presented.AsSpan(Prefix.Length, 32);
        if (presented[Prefix.Length + 32] != '_' || !Guid.TryParseExact(idPart, "N", out id))
        {
            return false;
        }

        secret = presented[(Prefix.Length + 33)..];
        return secret.Length >= 20;
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private ApiTokenRow ToRow(ApiToken t) => new(
        t.Id, t.Kind, t.Name, t.OwnerUserName, t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.LastUsedFrom, t.RevokedAt,
        t.RevokedAt is null && (t.ExpiresAt is null || t.ExpiresAt > clock.GetUtcNow()),
        t.Scope is { } scope && scope.StartsWith(ApiToken.TransferScopePrefix, StringComparison.Ordinal) ? scope[ApiToken.TransferScopePrefix.Length..] : null);
}
