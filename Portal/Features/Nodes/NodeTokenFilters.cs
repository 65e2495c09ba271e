namespace Portal.Features.Nodes;

/// <summary>
/// What a node token may do on the node API. After linking, only the token the parent linked with acts as the parent
/// (records or clears the parent, account twins, mail moves); a token made for a transfer opens that one account's
/// export and nothing else; a general node token of another admin opens neither.
/// </summary>
internal static class NodeTokenFilters
{
    public static Guid? TokenId(HttpContext http) =>
        Guid.TryParse(http.User.FindFirstValue(ApiTokenAuthenticationHandler.TokenIdClaim), out var id) ? id : null;

    private static string? Scope(HttpContext http) => http.User.FindFirstValue(ApiTokenAuthenticationHandler.TokenScopeClaim);

    /// <summary>On the whole node API: a token made for a transfer reaches only that account's export.</summary>
    public sealed class ScopeLimit : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            if (Scope(context.HttpContext) is { } scope
                && !context.HttpContext.Request.Path.StartsWithSegments("/node-api/v1/transfers/" + scope[ApiToken.TransferScopePrefix.Length..]))
            {
                return ApiResults.Error(StatusCodes.Status403Forbidden, "token.wrong_scope",
                    $"This token was made for the transfer of {scope[ApiToken.TransferScopePrefix.Length..]} only; it opens nothing else.");
            }

            return await next(context);
        }
    }

    /// <summary>On what only the parent calls: the token it linked with, nothing else.</summary>
    public sealed class ParentOnly(NodeIdentityService identity) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var node = await identity.GetAsync(context.HttpContext.RequestAborted);
            var token = TokenId(context.HttpContext);
            if (node.Parent is null)
            {
                return ApiResults.Error(StatusCodes.Status403Forbidden, "node.no_parent",
                    $"Node {node.Name} has no parent; only the parent it is linked to may do this.");
            }

            if (node.ParentTokenId is null && token is { } adopted)
            {
                await identity.BindParentTokenAsync(adopted, context.HttpContext.RequestAborted); // a link older than this rule
            }
            else if (node.ParentTokenId != token)
            {
                return ApiResults.Error(StatusCodes.Status403Forbidden, "node.not_parent",
                    $"Node {node.Name} is linked to {node.Parent.Name}; only the token {node.Parent.Name} linked with may do this, and this is another.");
            }

            return await next(context);
        }
    }

    /// <summary>On an account's export to another parent: a token made for the transfer of that account.</summary>
    public sealed class TransferOnly(NodeIdentityService identity) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var username = context.HttpContext.GetRouteValue("username")?.ToString() ?? "";
            if (Scope(context.HttpContext) != ApiToken.TransferScope(username))
            {
                var node = await identity.GetAsync(context.HttpContext.RequestAborted);
                return ApiResults.Error(StatusCodes.Status403Forbidden, "token.not_for_transfer",
                    $"Exporting {username} needs a token made for its transfer: on {node.Name}, create a node API token for the transfer of {username} (Node API tokens), valid for at most 7 days.");
            }

            return await next(context);
        }
    }
}
