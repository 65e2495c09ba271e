namespace Portal.Infrastructure.Api;

/// <summary>Turns the services' refusals into API errors: 400, 403, 404, 409 (or 507 for a full disk) with a code and what to do.</summary>
internal sealed class ApiExceptionFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (PortalException ex)
        {
            return ApiResults.Error(ex.Status, ex.Code, ex.Message, ex.Problems);
        }
        catch (UntrustedDataException ex)
        {
            return ApiResults.Error(StatusCodes.Status400BadRequest, "data.refused", ex.Message);
        }
        catch (UnsafeMailPathException ex)
        {
            return ApiResults.Error(StatusCodes.Status400BadRequest, "mail.unsafe_name", ex.Message);
        }
        catch (IOException ex) when (DiskFull.Is(ex))
        {
            // A write here failed for want of space: said plainly, so a move stops (and removes its copy) at once.
            return ApiResults.Error(DiskFull.Status, DiskFull.Code,
                $"The mail disk of this node is full ({ex.Message}). Free space on it, or choose another node, and try again.");
        }
    }
}

/// <summary>
/// On a child node, users and resellers work on the parent: their API calls here are refused with the parent's
/// address. Admins of the child keep their API.
/// </summary>
internal sealed class ChildNodeApiFilter(NodeIdentityService identity) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var user = context.HttpContext.User;
        if (!user.IsInRole(PortalRoles.Admin) && await identity.GetAsync(context.HttpContext.RequestAborted) is { Parent: { } parent } node)
        {
            return ApiResults.Error(StatusCodes.Status403Forbidden, "node.is_child",
                $"Node {node.Name} is a child of {parent.Name}; account owners and resellers use the parent. Call the API on the parent at {parent.Url}.");
        }

        return await next(context);
    }
}

/// <summary>
/// Every API error in the APIs' error shape: a request the API cannot read (malformed JSON, a wrong type, a missing
/// body) gets a 400 that says what was wrong, and a failure nothing else handled gets a 500 with the trace id to find
/// it in the log. Without this the exception handler re-executed the failed request as the error page, which takes
/// only GET, so a failed PUT or POST answered "405 Method Not Allowed": a parent took that for a refusal, not for a
/// failure worth retrying.
/// </summary>
internal sealed class ApiErrorMiddleware(RequestDelegate next, ILogger<ApiErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            var message = ex.InnerException is JsonException json
                ? $"The request body is not what this endpoint takes: {json.Message}"
                : ex.Message;
            await ApiResults.WriteAsync(context, ex.StatusCode, new ApiError("request.invalid", message + " See the API reference for the expected fields."));
        }
        catch (Exception ex) when (!context.Response.HasStarted && !(ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            var trace = System.Diagnostics.Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier;
            logger.LogError(ex, "{Method} {Path} failed", context.Request.Method, context.Request.Path.Value);
            // The exception's own text stays in this node's log: it can name paths and programs a caller has no need of.
            await ApiResults.WriteAsync(context, StatusCodes.Status500InternalServerError, new ApiError("internal",
                $"This node failed to carry out the request ({ex.GetType().Name}); it may succeed if tried again. Its log has the details under trace id {trace}."));
        }
    }
}
