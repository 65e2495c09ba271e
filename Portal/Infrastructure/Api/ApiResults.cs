namespace Portal.Infrastructure.Api;

/// <summary>The body of every API error: a stable code, a message that says what to do, and any further problems.</summary>
public sealed record ApiError(string Code, string Message, IReadOnlyList<string>? Problems = null);

public static class ApiResults
{
    public static readonly JsonSerializerOptions Json = NodeApiClient.Json;

    public static Task WriteAsync(HttpContext context, int status, ApiError error)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(error, Json));
    }

    public static IResult Error(int status, string code, string message, IReadOnlyList<string>? problems = null) =>
        Results.Json(new ApiError(code, message, problems is { Count: > 1 } ? problems : null), Json, statusCode: status);
}
