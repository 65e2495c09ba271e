using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Portal.Tests.Unit;

public sealed class ApiErrorMiddlewareTests
{
    [Theory]
    [InlineData("PUT")]
    [InlineData("POST")]
    [InlineData("GET")]
    public async Task AFailureNothingHandled_Answers500InTheApisShape_WithATraceIdAndWithoutTheExceptionsText(string method)
    {
        var context = new DefaultHttpContext { TraceIdentifier = "trace-1" };
        context.Request.Method = method;
        context.Request.Path = "/node-api/v1/accounts/alice/mail/redirect";
        context.Response.Body = new MemoryStream();
        var middleware = new ApiErrorMiddleware(
            _ => throw new InvalidOperationException("postfix -c /srv/secret/postfix reload failed (1)"), NullLogger<ApiErrorMiddleware>.Instance);

        await middleware.InvokeAsync(context);

        // A 500 is what a parent retries; the 405 the error page's re-execution gave was not.
        Assert.Equal(StatusCodes.Status500InternalServerError, context.Response.StatusCode);
        context.Response.Body.Position = 0;
        using var body = await JsonDocument.ParseAsync(context.Response.Body);
        Assert.Equal("internal", body.RootElement.GetProperty("code").GetString());
        var message = body.RootElement.GetProperty("message").GetString()!;
        Assert.Contains("trace-1", message);
        Assert.DoesNotContain("/srv/secret", message);
    }

    [Fact]
    public async Task ARequestTheCallerAbandoned_IsNotAnsweredAsAFailure()
    {
        using var aborted = new CancellationTokenSource();
        await aborted.CancelAsync();
        var context = new DefaultHttpContext { RequestAborted = aborted.Token };
        context.Response.Body = new MemoryStream();
        var middleware = new ApiErrorMiddleware(_ => throw new OperationCanceledException(aborted.Token), NullLogger<ApiErrorMiddleware>.Instance);

        await Assert.ThrowsAsync<OperationCanceledException>(() => middleware.InvokeAsync(context));
        Assert.Equal(0, context.Response.Body.Length);
    }
}
