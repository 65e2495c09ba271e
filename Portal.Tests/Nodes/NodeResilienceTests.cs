using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace Portal.Tests.Nodes;

/// <summary>
/// Calls to another node go through one resilience pipeline per node: safe calls are retried after a server error,
/// a node that keeps failing is not asked at all for a while, and then exactly one trial call decides (half-open).
/// Real HTTP against small stand-in nodes; the pipeline's clock is the test's, so the 30 s of an open circuit pass at once.
/// </summary>
public sealed class NodeResilienceTests : IAsyncLifetime
{
    private readonly StandInNode _a = new();
    private readonly StandInNode _b = new();
    private readonly SettableClock _clock = new();
    private ServiceProvider _services = default!;

    public async Task InitializeAsync()
    {
        await Task.WhenAll(_a.StartAsync(), _b.StartAsync());
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddNodeApiClients();
        _services = services.BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await Task.WhenAll(_a.DisposeAsync().AsTask(), _b.DisposeAsync().AsTask());
    }

    private NodeApiClient Client(StandInNode node) =>
        _services.GetRequiredService<INodeApiClientFactory>().Create(new NodeEndpoint(node.Url, "admin", "pnt_test", VerifyTls: false), TimeSpan.FromSeconds(2));

    [Fact]
    public async Task ASafeCall_IsRetriedAfterServerErrors_ThenTheCircuitOpens_AndOnlyThatNodesCircuit()
    {
        _a.Answer = StandInNode.Mode.ServerError;

        var failure = await Assert.ThrowsAsync<NodeRequestException>(() => Client(_a).GetHealthAsync(CancellationToken.None));

        Assert.Equal(503, failure.Status);
        Assert.Equal(1 + NodeApiResilience.SafeRetries, _a.Requests);

        // Three failures in a row: the node is not asked at all now, and the caller hears for how long.
        var open = await Assert.ThrowsAsync<NodeCircuitOpenException>(() => Client(_a).GetHealthAsync(CancellationToken.None));
        Assert.Equal(1 + NodeApiResilience.SafeRetries, _a.Requests);
        Assert.InRange(open.RetryAfter!.Value, TimeSpan.FromSeconds(1), NodeApiResilience.OpenFor);
        Assert.Contains("stops asking it for", open.Message);
        Assert.Equal(NodeCircuitState.Open, Circuit(_a));

        // Another node's calls are untouched.
        await Client(_b).GetHealthAsync(CancellationToken.None);
        Assert.Equal(1, _b.Requests);
    }

    [Fact]
    public async Task AnUnsafeCall_IsNotRetried()
    {
        _a.Answer = StandInNode.Mode.ServerError;

        await Assert.ThrowsAsync<NodeRequestException>(() => Client(_a).EndMailSessionsAsync("alice", CancellationToken.None));

        Assert.Equal(1, _a.Requests);
    }

    [Fact]
    public async Task AfterTheBreak_OneTrialCallGoesThrough_OthersWaitForIt_AndItsSuccessClosesTheCircuit()
    {
        _a.Answer = StandInNode.Mode.ServerError;
        await Assert.ThrowsAsync<NodeRequestException>(() => Client(_a).GetHealthAsync(CancellationToken.None));
        Assert.Equal(NodeCircuitState.Open, Circuit(_a));

        _clock.Now += NodeApiResilience.OpenFor + TimeSpan.FromSeconds(1);
        _a.Answer = StandInNode.Mode.SlowOk;
        var before = _a.Requests;
        var trial = Client(_a).GetHealthAsync(CancellationToken.None);
        await _a.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // Polly tells of the state change a moment after the trial call leaves.
        for (var i = 0; i < 20 && Circuit(_a) != NodeCircuitState.HalfOpen; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(NodeCircuitState.HalfOpen, Circuit(_a));

        // While the trial runs, nothing else reaches the node.
        await Assert.ThrowsAsync<NodeCircuitOpenException>(() => Client(_a).GetHealthAsync(CancellationToken.None));
        await trial;
        Assert.Equal(before + 1, _a.Requests);
        Assert.Equal(NodeCircuitState.Closed, Circuit(_a));

        _a.Answer = StandInNode.Mode.Ok;
        await Client(_a).GetHealthAsync(CancellationToken.None);
        Assert.Equal(before + 2, _a.Requests);
    }

    [Fact]
    public async Task AFailedTrial_OpensTheCircuitAgain()
    {
        _a.Answer = StandInNode.Mode.ServerError;
        await Assert.ThrowsAsync<NodeRequestException>(() => Client(_a).GetHealthAsync(CancellationToken.None));
        _clock.Now += NodeApiResilience.OpenFor + TimeSpan.FromSeconds(1);
        var before = _a.Requests;

        await Assert.ThrowsAnyAsync<NodeApiException>(() => Client(_a).EndMailSessionsAsync("alice", CancellationToken.None));

        Assert.Equal(before + 1, _a.Requests);
        Assert.Equal(NodeCircuitState.Open, Circuit(_a));
        await Assert.ThrowsAsync<NodeCircuitOpenException>(() => Client(_a).GetHealthAsync(CancellationToken.None));
        Assert.Equal(before + 1, _a.Requests);
    }

    [Fact]
    public async Task ANodeThatDoesNotAnswer_TimesOutWithinTheCallersLimit_AndIsNotAskedTwice()
    {
        _a.Answer = StandInNode.Mode.Hang;
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var failure = await Assert.ThrowsAsync<NodeUnreachableException>(() => Client(_a).GetHealthAsync(CancellationToken.None));

        Assert.True(failure.TimedOut);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(6));
        Assert.Equal(1, _a.Requests);
    }

    private NodeCircuitState? Circuit(StandInNode node) =>
        _services.GetRequiredService<NodeCircuits>().States.Where(s => s.Key.Contains($":{node.Url.Port}", StringComparison.Ordinal)).Select(s => (NodeCircuitState?)s.Value).SingleOrDefault();

    private sealed class SettableClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>A node that answers its health as told: fine, slowly, with 503, or not at all.</summary>
    private sealed class StandInNode : IAsyncDisposable
    {
        private WebApplication? _app;
        private int _requests;

        public enum Mode
        {
            Ok,
            SlowOk,
            ServerError,
            Hang,
        }

        public Mode Answer { get; set; } = Mode.Ok;

        public int Requests => Volatile.Read(ref _requests);

        public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Uri Url { get; private set; } = default!;

        public async Task StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            _app = builder.Build();
            _app.Run(async context =>
            {
                Interlocked.Increment(ref _requests);
                Arrived.TrySetResult();
                switch (Answer)
                {
                    case Mode.Hang:
                        await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
                        return;
                    case Mode.ServerError:
                        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                        await context.Response.WriteAsJsonAsync(new { code = "node.busy", message = "busy" });
                        return;
                    case Mode.SlowOk:
                        await Task.Delay(500);
                        break;
                }

                await context.Response.WriteAsJsonAsync(context.Request.Method == "GET"
                    ? new NodeHealthReport(Guid.NewGuid(), "1.0.0", "Mail", 1, 2, DateTimeOffset.UtcNow)
                    : (object)new { addresses = 0 });
            });
            await _app.StartAsync();
            Url = new Uri(_app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }
        }
    }
}
