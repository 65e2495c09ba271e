using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;

namespace Portal.Infrastructure.Api;

public sealed class ApiTokenAuthenticationOptions : AuthenticationSchemeOptions
{
    public ApiTokenKind Kind { get; set; }
}

/// <summary>
/// Bearer API tokens. Two schemes use it: <see cref="NodeScheme"/> (node tokens plus the admin's name in
/// <c>X-Portal-Admin</c>, for the node API) and <see cref="UserScheme"/> (user tokens, for the public API). A
/// session cookie never opens these endpoints, and every request checks the token in the database, so a revoked
/// token is refused at once.
/// </summary>
internal sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<ApiTokenAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiTokenService tokens,
    IOptions<PortalSettings> settings)
    : AuthenticationHandler<ApiTokenAuthenticationOptions>(options, logger, encoder)
{
    public const string NodeScheme = "NodeToken";
    public const string UserScheme = "ApiToken";
    public const string TokenIdClaim = "portal:token-id";

    /// <summary>What a node token is limited to (a transfer of one account); absent for a general token.</summary>
    public const string TokenScopeClaim = "portal:token-scope";
    private const string FailureKey = "portal:token-failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        var presented = header["Bearer ".Length..].Trim();
        string? userName = null;
        if (Options.Kind == ApiTokenKind.Node)
        {
            userName = Request.Headers[NodeApiHeaders.AdminUser].ToString();
            if (string.IsNullOrWhiteSpace(userName))
            {
                return Fail("token.user_missing", $"Name the admin the token belongs to in the {NodeApiHeaders.AdminUser} header.");
            }
        }

        var check = await tokens.ValidateAsync(presented, Options.Kind, userName, Context.Connection.RemoteIpAddress?.ToString(), Context.RequestAborted);
        if (!check.IsValid)
        {
            var (code, message) = ApiTokenService.Explain(check, settings.Value.NodeName);
            return Fail(code, message);
        }

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, check.Owner!.Id),
            new(ClaimTypes.Name, check.Owner.UserName!),
            new(TokenIdClaim, check.Token!.Id.ToString()),
        };
        claims.AddRange(check.Roles!.Select(r => new Claim(ClaimTypes.Role, r)));
        if (check.Token.Scope is { } scope)
        {
            claims.Add(new Claim(TokenScopeClaim, scope));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    private AuthenticateResult Fail(string code, string message)
    {
        PortalTelemetry.SignInFailed(Options.Kind == ApiTokenKind.Node ? "node_token" : "api_token", code);
        Context.Items[FailureKey] = new ApiError(code, message);
        return AuthenticateResult.Fail(message);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var error = Context.Items[FailureKey] as ApiError ?? new ApiError("token.missing", Options.Kind == ApiTokenKind.Node
            ? $"The node API needs a node API token: send \"Authorization: Bearer <token>\" and \"{NodeApiHeaders.AdminUser}: <admin>\"."
            : "The API needs an API token: send \"Authorization: Bearer <token>\" (create one under API tokens).");
        return ApiResults.WriteAsync(Context, StatusCodes.Status401Unauthorized, error);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiResults.WriteAsync(Context, StatusCodes.Status403Forbidden, new ApiError("forbidden", "This token's owner may not do this."));
}
