using System.Text.RegularExpressions;

namespace Portal.Tests.Integration;

/// <summary>
/// What an operator monitors: a call an account owner makes at the parent for mail that lives on a child is one trace
/// across both nodes (exported over OTLP to a collector), the metrics endpoint lists the moves and the rest for an
/// admin's token only, and the access log has a line per request without the secrets it carried.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed partial class TelemetryTests(TelemetryFixture nodes)
{
    [Fact]
    public async Task AnOwnersCallProxiedToTheChild_IsOneTraceWithSpansOnBothNodes()
    {
        var (name, ownerToken) = await nodes.DistributedAccountWithOwnerTokenAsync();
        using var owner = new PortalApi(nodes.Parent.BaseUrl, ownerToken);

        var response = await owner.GetAsync($"api/v1/accounts/{name}/mail/addresses");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var (parentSpan, childSpan, hop) = await WaitForAsync(() =>
        {
            var spans = nodes.Collector.Spans;
            var atParent = spans.FirstOrDefault(s => s.Node == nodes.Parent.Name && s.Kind == OtlpCollector.Span.Server && s.Name.Contains("/mail/addresses", StringComparison.Ordinal)
                && spans.Any(c => c.TraceId == s.TraceId && c.Node == nodes.Child.Name));
            if (atParent is null)
            {
                return default;
            }

            var atChild = spans.First(s => s.TraceId == atParent.TraceId && s.Node == nodes.Child.Name && s.Kind == OtlpCollector.Span.Server);
            var call = spans.FirstOrDefault(s => s.SpanId == atChild.ParentSpanId);
            return (atParent, atChild, call);
        });

        Assert.Equal("portal", parentSpan.Service);
        Assert.Equal("portal", childSpan.Service);
        Assert.Contains("node-api/v1/accounts/", childSpan.Name, StringComparison.Ordinal);
        // The child's span continues the parent's outgoing call, which belongs to the owner's request.
        Assert.NotNull(hop);
        Assert.Equal(nodes.Parent.Name, hop!.Node);
        Assert.Equal(OtlpCollector.Span.Client, hop.Kind);
        Assert.Equal(parentSpan.TraceId, hop.TraceId);
    }

    [Fact]
    public async Task TheMetricsEndpoint_ListsTheMovesJobsProxyAndSignIns_ForAnAdminsTokenOnly()
    {
        var (name, ownerToken) = await nodes.DistributedAccountWithOwnerTokenAsync(messages: 25);
        using (var owner = new PortalApi(nodes.Parent.BaseUrl, ownerToken))
        {
            Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"api/v1/accounts/{name}/mail/addresses")).Status);
            // An owner's token does not read the node's metrics.
            Assert.Equal(HttpStatusCode.Forbidden, (await owner.GetAsync("metrics")).Status);
        }

        using (var stranger = new PortalApi(nodes.Parent.BaseUrl, "pat_not-a-token"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync("metrics")).Status);
        }

        var text = (await nodes.Parent.Api.GetAsync("metrics")).Expect(HttpStatusCode.OK).Text;

        Assert.Matches(@"portal_moves_succeeded_total\{[^}]*kind=""mail-copy""[^}]*\} [1-9]", text);
        Assert.Matches(@"portal_moves_running\{[^}]*kind=""mail-copy""[^}]*\} 0", text);
        Assert.Matches(@"portal_moves_duration_seconds_count\{[^}]*kind=""mail-copy""[^}]*outcome=""succeeded""[^}]*\} [1-9]", text);
        Assert.True(Value(text, @"portal_moves_messages_total\{[^}]*kind=""mail-copy""[^}]*\}") >= 25, text);
        Assert.True(Value(text, @"portal_moves_copied_bytes_total\{[^}]*kind=""mail-copy""[^}]*\}") > 25 * 1024, text);
        Assert.Matches(@"portal_jobs_pickup_seconds_count\{[^}]*queue=""moves""[^}]*\} [1-9]", text);
        Assert.Matches(@"portal_jobs_enqueued\{[^}]*queue=""moves""[^}]*\} \d", text);
        Assert.Matches(@"portal_proxy_duration_seconds_count\{[^}]*node=""mail-1""[^}]*outcome=""ok""[^}]*\} [1-9]", text);
        Assert.Matches(@"portal_node_circuit_state\{[^}]*\} 0", text);
        Assert.Matches(@"portal_signin_failures_total\{[^}]*method=""api_token""[^}]*reason=""token.invalid""[^}]*\} [1-9]", text);
    }

    [Fact]
    public async Task TheAccessLog_HasALinePerRequest_WithUserAndStatus_ButNotTheQueryOrTheToken()
    {
        var (_, ownerToken) = await nodes.DistributedAccountWithOwnerTokenAsync();
        using var owner = new PortalApi(nodes.Parent.BaseUrl, ownerToken);
        var marker = Guid.NewGuid().ToString("N");

        await owner.GetAsync($"api/v1/accounts?search={marker}&password=hunter2-{marker}");

        var line = await WaitForAsync(() => File.ReadLines(Path.Combine(nodes.Parent.Folder, "node.log"))
            .LastOrDefault(l => l.Contains("HttpLoggingMiddleware", StringComparison.Ordinal) && l.Contains("/api/v1/accounts", StringComparison.Ordinal) && l.Contains("\"Method\":\"GET\"", StringComparison.Ordinal)));
        Assert.Contains("\"StatusCode\":", line, StringComparison.Ordinal);
        Assert.Contains("\"Duration\":", line, StringComparison.Ordinal);
        Assert.Contains("\"ClientAddress\":\"127.0.0.1\"", line, StringComparison.Ordinal);
        Assert.Contains("\"User\":\"", line, StringComparison.Ordinal);
        var log = File.ReadAllText(Path.Combine(nodes.Parent.Folder, "node.log"));
        Assert.DoesNotContain(marker, log, StringComparison.Ordinal);
        Assert.DoesNotContain(ownerToken, log, StringComparison.Ordinal);
    }

    private static double Value(string metrics, string series)
    {
        var match = Regex.Match(metrics, series + @" ([0-9.e+]+)");
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    /// <summary>Waits (up to 30 s) until <paramref name="find"/> finds something: spans and log lines are written a moment later.</summary>
    private static async Task<T> WaitForAsync<T>(Func<T?> find)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (find() is { } found && !EqualityComparer<T>.Default.Equals(found, default))
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, "not seen within 30 s");
            await Task.Delay(200);
        }
    }
}

/// <summary>A parent and a mail child that export their traces to one collector.</summary>
public sealed class TelemetryFixture : IAsyncLifetime
{
    public OtlpCollector Collector { get; } = new();

    public PortalNode Parent { get; private set; } = default!;

    public PortalNode Child { get; private set; } = default!;

    private string _childId = "";

    public async Task InitializeAsync()
    {
        await Collector.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["Portal:Telemetry:OtlpEndpoint"] = Collector.Endpoint.ToString(),
            // Spans are sent in batches; a test waits for them, so the batches leave often.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        };
        var started = await Task.WhenAll(
            PortalNode.StartAsync("tparent", new Dictionary<string, string>(settings) { ["Portal:Dns:PublicIPv4"] = "127.0.0.60" }),
            PortalNode.StartAsync("tchild", new Dictionary<string, string>(settings) { ["Portal:Dns:PublicIPv4"] = "127.0.0.61" }));
        (Parent, Child) = (started[0], started[1]);
        (await Child.Api.PutAsync("api/v1/node/profile", new { profile = "Mail" })).Expect(HttpStatusCode.OK);
        _childId = (await LinkedNodesFixture.LinkAsync(Parent, Child, "mail-1")).Expect(HttpStatusCode.Created).Body.GetProperty("node").GetProperty("id").GetString()!;
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(new[] { Parent, Child }.Where(n => n is not null).Select(n => n.DisposeAsync().AsTask()));
        await Collector.DisposeAsync();
    }

    /// <summary>
    /// An account made at the parent with one mailbox holding <paramref name="messages"/> messages, moved to the child
    /// (a real distribution), and an API token of its owner.
    /// </summary>
    public async Task<(string Name, string OwnerToken)> DistributedAccountWithOwnerTokenAsync(int messages = 0)
    {
        var name = "tm" + Guid.NewGuid().ToString("N")[..8];
        var domain = $"{name}.example.test";
        (await Parent.Api.PostAsync("api/v1/accounts", new { username = name, domain, contactEmail = $"o@{domain}" })).Expect(HttpStatusCode.Created);
        (await Parent.Api.PostAsync($"api/v1/accounts/{name}/mail/addresses", new { localPart = "alice", password = "alice-Kq7vZp3xWm9t" })).Expect(HttpStatusCode.Created);
        new MailGenerator().Fill(Maildir.MailboxPath(Parent.MailRoot, domain, "alice"), messages, 1, 4);
        var operation = (await Parent.Api.PutAsync($"api/v1/accounts/{name}/mail-node", new { nodeId = _childId })).Expect(HttpStatusCode.Accepted).Body.GetProperty("operationId").GetString()!;
        var done = await Parent.Api.WaitOperationAsync(operation, o => o.GetProperty("state").GetString() is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", done.GetProperty("state").GetString());

        await using var db = TestDatabases.OpenContext(Parent.ConnectionString);
        var user = await db.Users.SingleAsync(u => u.UserName == name);
        var (row, token) = ApiTokenService.Mint(ApiTokenKind.User, "telemetry test", user.Id, user.UserName!, DateTimeOffset.UtcNow, null);
        db.ApiTokens.Add(row);
        await db.SaveChangesAsync();
        return (name, token);
    }
}

[CollectionDefinition(Name)]
public sealed class TelemetryCollection : ICollectionFixture<TelemetryFixture>
{
    public const string Name = "A parent and a child exporting telemetry";
}
