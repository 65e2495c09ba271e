using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;

namespace Portal.Tests.Integration;

/// <summary>The OpenAPI document describes exactly the public API's endpoints, each with the API's error answers.</summary>
[Collection(PortalAppCollection.Name)]
public sealed partial class ApiDocumentTests(PortalAppFixture app)
{
    [Fact]
    public async Task TheDocument_ListsEveryPublicEndpoint_AndNothingElse()
    {
        using var client = app.CreateClient();
        var document = await ReadDocumentAsync(client);

        var documented = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Where(o => o.Name is "get" or "post" or "put" or "delete" or "patch")
                .Select(o => $"{o.Name.ToUpperInvariant()} {p.Name}"))
            .Order(StringComparer.Ordinal).ToList();
        var mapped = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1/", StringComparison.Ordinal) == true)
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods
                .Select(m => $"{m} {Constraint().Replace(e.RoutePattern.RawText!, "}")}"))
            .Order(StringComparer.Ordinal).ToList();

        Assert.NotEmpty(mapped);
        Assert.Equal(mapped, documented);
        Assert.Contains("PUT /api/v1/accounts/{username}/mail-node", documented);
        Assert.Contains("POST /api/v1/scheduled-deletions/{id}/cancel", documented);
        Assert.DoesNotContain(documented, d => d.Contains("/node-api/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryOperation_DocumentsTheApiErrorAnswers()
    {
        using var client = app.CreateClient();
        var document = await ReadDocumentAsync(client);

        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("responses", out _)))
            {
                var responses = operation.Value.GetProperty("responses");
                foreach (var status in ApiDocument.ErrorStatuses)
                {
                    Assert.True(responses.TryGetProperty(status.ToString(), out var response), $"{operation.Name} {path.Name} lacks {status}");
                    Assert.Contains("ApiError", response.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetRawText(), StringComparison.Ordinal);
                }
            }
        }

        Assert.Equal("Portal API", document.GetProperty("info").GetProperty("title").GetString());
    }

    [Fact]
    public async Task TheReferencePage_IsOpenToAnyone_AndListsTheOperations()
    {
        using var client = app.CreateClient();

        var page = await client.GetAsync("/api-reference");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("data-path=\"/api/v1/accounts/{username}/mail-node\" data-method=\"PUT\"", html, StringComparison.Ordinal);
        Assert.Contains(ApiDocument.V1, html, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> ReadDocumentAsync(HttpClient client)
    {
        var response = await client.GetAsync(ApiDocument.V1);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    /// <summary>A route parameter's constraint (<c>{id:guid}</c>), which OpenAPI paths leave out.</summary>
    [GeneratedRegex(@":[^}]+\}")]
    private static partial Regex Constraint();
}
