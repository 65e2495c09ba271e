namespace Portal.Infrastructure.Api;

/// <summary>
/// The public API's OpenAPI document (<c>/api/openapi/v1.json</c>), generated from the endpoints themselves, and the
/// error responses every API call may give, declared once for the whole <c>/api/v1</c> group.
/// </summary>
public static class ApiDocument
{
    public const string Path = "/api/openapi/{documentName}.json";

    public const string V1 = "/api/openapi/v1.json";

    public static IServiceCollection AddPortalApiDocument(this IServiceCollection services) =>
        services.AddOpenApi("v1", options =>
        {
            options.ShouldInclude = description => description.RelativePath?.StartsWith("api/v1/", StringComparison.Ordinal) == true;
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Portal API";
                document.Info.Version = "v1";
                document.Info.Description =
                    "Account owners, resellers and admins of a Portal node. Authenticate with an API token of your own: "
                    + "`Authorization: Bearer <token>` (Account > API tokens). Errors are JSON `{ code, message, problems? }`: "
                    + "the code is stable, the message says what to do. Requests are limited per token and per address (429 with Retry-After). "
                    + "Long work (moving mail) answers 202 with the operation whose progress `GET /api/v1/operations/{id}` shows.";
                return Task.CompletedTask;
            });
        });

    /// <summary>The refusals any call of the public API can answer with, in the API's error shape.</summary>
    public static TBuilder WithApiErrors<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in ErrorStatuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ApiError), ["application/json"]));
        }

        return builder;
    }

    public static readonly int[] ErrorStatuses =
    [
        StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden,
        StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status429TooManyRequests,
    ];
}
