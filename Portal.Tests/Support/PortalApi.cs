using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Portal.Jobs.Nodes;

namespace Portal.Tests.Support;

/// <summary>
/// A node's public API (or node API) over real HTTP, as a script or another node calls it; with
/// <paramref name="acceptAnyCertificate"/>, over HTTPS to a node that serves a certificate nothing trusts yet.
/// </summary>
public sealed class PortalApi(Uri baseUrl, string token, string? adminUserName = null, bool acceptAnyCertificate = false) : IDisposable
{
    private readonly HttpClient _http = Create(baseUrl, token, adminUserName, acceptAnyCertificate);

    public static JsonSerializerOptions Json => NodeApiClient.Json;

    public Task<ApiResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<ApiResponse> PostAsync(string path, object? body = null) => SendAsync(HttpMethod.Post, path, body);

    public Task<ApiResponse> PutAsync(string path, object body) => SendAsync(HttpMethod.Put, path, body);

    public Task<ApiResponse> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json"
            ? JsonDocument.Parse(text).RootElement.Clone()
            : default;
        return new ApiResponse(response.StatusCode, json, text);
    }

    private static HttpClient Create(Uri baseUrl, string token, string? adminUserName, bool acceptAnyCertificate)
    {
        var handler = new HttpClientHandler();
        if (acceptAnyCertificate)
        {
            handler.ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator;
        }

        var http = new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (adminUserName is not null)
        {
            http.DefaultRequestHeaders.Add(NodeApiHeaders.AdminUser, adminUserName);
        }

        return http;
    }

    /// <summary>
    /// Polls an operation of this node until the condition holds; fails with the operation and its log after the
    /// timeout (two minutes). A node that is restarting meanwhile is asked again.
    /// </summary>
    public async Task<JsonElement> WaitOperationAsync(string id, Func<JsonElement, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        JsonElement operation = default;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                operation = (await GetAsync($"api/v1/operations/{id}")).Expect(HttpStatusCode.OK).Body;
                if (condition(operation))
                {
                    return operation;
                }
            }
            catch (HttpRequestException)
            {
                // The node is restarting.
            }

            await Task.Delay(50);
        }

        var log = (await GetAsync($"api/v1/operations/{id}/log")).Text;
        throw new TimeoutException($"Operation {id} did not reach the expected state: {operation}\nLog: {log}");
    }

    public void Dispose() => _http.Dispose();
}

public sealed record ApiResponse(HttpStatusCode Status, JsonElement Body, string Text)
{
    public string? Code => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("code", out var c) ? c.GetString() : null;

    public string? Message => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("message", out var m) ? m.GetString() : null;

    public T As<T>() => Body.Deserialize<T>(PortalApi.Json) ?? throw new InvalidOperationException($"Empty body: {Text}");

    public string Field(string name) => Body.GetProperty(name).ToString();

    /// <summary>Fails with the whole answer when the status is not the expected one.</summary>
    public ApiResponse Expect(HttpStatusCode status) =>
        Status == status ? this : throw new Xunit.Sdk.XunitException($"Expected {(int)status}, got {(int)Status}: {Text}");
}
