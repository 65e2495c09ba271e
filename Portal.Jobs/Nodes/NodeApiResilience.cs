using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace Portal.Jobs.Nodes;

/// <summary>
/// How a node's calls to another node ride out failures (Microsoft.Extensions.Http.Resilience, one pipeline per node
/// address): a time limit per attempt (the caller's, or <see cref="DefaultTimeout"/>); a circuit per node that opens
/// after <see cref="FailuresToOpen"/> failures in a row, refuses calls at once for <see cref="OpenFor"/>, then lets one
/// trial call through (half-open) whose outcome closes or reopens it; and for safe calls (GET) a retry with jittered
/// backoff after a failed connection or a server error. A call that timed out is not repeated: it would only double
/// the wait of whoever is waiting on a page.
/// </summary>
public static class NodeApiResilience
{
    public const string PipelineName = "node-api";

    public const int FailuresToOpen = 3;

    public const int SafeRetries = 2;

    public static readonly TimeSpan OpenFor = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    /// <summary>How long a connection to another node may take to open, for calls and for mail transfers that then stream for as long as they take.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The time limit of one request, when the caller has its own (an owner's page waits less than a job).</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> Timeout = new("portal.node-api.timeout");

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, ResilienceHandlerContext context)
    {
        var circuits = context.ServiceProvider.GetRequiredService<NodeCircuits>();
        var node = context.InstanceName;
        // The pipeline is made at the first call to the node; its circuit starts closed.
        circuits.Set(node, NodeCircuitState.Closed);
        builder
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = SafeRetries,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(
                    IsSafe(args.Context) && (args.Outcome.Exception is HttpRequestException || IsServerError(args.Outcome.Result))),
            })
            .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                FailureRatio = 1.0,
                MinimumThroughput = FailuresToOpen,
                SamplingDuration = OpenFor,
                BreakDuration = OpenFor,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is HttpRequestException or TimeoutRejectedException || IsServerError(args.Outcome.Result)),
                OnOpened = _ => circuits.Set(node, NodeCircuitState.Open),
                OnHalfOpened = _ => circuits.Set(node, NodeCircuitState.HalfOpen),
                OnClosed = _ => circuits.Set(node, NodeCircuitState.Closed),
            })
            .AddTimeout(new HttpTimeoutStrategyOptions
            {
                TimeoutGenerator = args => ValueTask.FromResult(
                    args.Context.GetRequestMessage() is { } request && request.Options.TryGetValue(Timeout, out var limit) ? limit : DefaultTimeout),
            });
        context.OnPipelineDisposed(() => circuits.Forget(node));
    }

    private static bool IsSafe(ResilienceContext context) =>
        context.GetRequestMessage()?.Method is { } method && (method == HttpMethod.Get || method == HttpMethod.Head);

    private static bool IsServerError(HttpResponseMessage? response) => response is { StatusCode: >= System.Net.HttpStatusCode.InternalServerError };
}
