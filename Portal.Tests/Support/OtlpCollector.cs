using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace Portal.Tests.Support;

/// <summary>
/// A small OpenTelemetry collector: it takes OTLP over HTTP (protobuf) as a real collector does and keeps the spans it
/// was sent, read with a protobuf reader of its own (only the fields a test looks at).
/// </summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly ConcurrentQueue<Span> _spans = new();
    private WebApplication? _app;

    public sealed record Span(string Service, string Node, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind)
    {
        public const int Server = 2;
        public const int Client = 3;
    }

    public Uri Endpoint { get; private set; } = default!;

    public IReadOnlyCollection<Span> Spans => _spans.ToArray();

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/v1/traces", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            foreach (var span in ReadTraces(body.ToArray()))
            {
                _spans.Enqueue(span);
            }

            return Results.Bytes([], "application/x-protobuf");
        });
        // Metrics and logs are taken and dropped.
        _app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
        await _app.StartAsync();
        Endpoint = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }</summary>
    private static IEnumerable<Span> ReadTraces(byte[] request)
    {
        foreach (var (field, resourceSpans) in Fields(request))
        {
            if (field != 1)
            {
                continue;
            }

            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
            var scopes = new List<byte[]>();
            foreach (var (f, value) in Fields(resourceSpans))
            {
                if (f == 1)
                {
                    // Resource { repeated KeyValue attributes = 1; }
                    foreach (var (a, keyValue) in Fields(value))
                    {
                        if (a == 1)
                        {
                            var (key, text) = KeyValue(keyValue);
                            attributes[key] = text;
                        }
                    }
                }
                else if (f == 2)
                {
                    scopes.Add(value);
                }
            }

            foreach (var scope in scopes)
            {
                // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
                foreach (var (f, span) in Fields(scope))
                {
                    if (f == 2)
                    {
                        yield return ReadSpan(span, attributes.GetValueOrDefault("service.name", ""), attributes.GetValueOrDefault("portal.node", ""));
                    }
                }
            }
        }
    }

    /// <summary>Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6; }</summary>
    private static Span ReadSpan(byte[] span, string service, string node)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        var at = 0;
        while (at < span.Length)
        {
            var tag = (int)Varint(span, ref at);
            var (field, wire) = (tag >> 3, tag & 7);
            if (field == 6 && wire == 0)
            {
                kind = (int)Varint(span, ref at);
                continue;
            }

            var value = Skip(span, ref at, wire);
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(value); break;
                case 2: spanId = Convert.ToHexStringLower(value); break;
                case 4: parent = Convert.ToHexStringLower(value); break;
                case 5: name = System.Text.Encoding.UTF8.GetString(value); break;
            }
        }

        return new Span(service, node, traceId, spanId, parent, name, kind);
    }

    /// <summary>KeyValue { string key = 1; AnyValue value = 2; } with AnyValue { string string_value = 1; ... }</summary>
    private static (string Key, string Text) KeyValue(byte[] message)
    {
        var (key, text) = ("", "");
        foreach (var (f, value) in Fields(message))
        {
            if (f == 1)
            {
                key = System.Text.Encoding.UTF8.GetString(value);
            }
            else if (f == 2)
            {
                foreach (var (v, inner) in Fields(value))
                {
                    if (v == 1)
                    {
                        text = System.Text.Encoding.UTF8.GetString(inner);
                    }
                }
            }
        }

        return (key, text);
    }

    /// <summary>The length-delimited fields of a message (numbers and fixed-size fields are skipped).</summary>
    private static IEnumerable<(int Field, byte[] Value)> Fields(byte[] message)
    {
        var at = 0;
        while (at < message.Length)
        {
            var tag = (int)Varint(message, ref at);
            var wire = tag & 7;
            var value = Skip(message, ref at, wire);
            if (wire == 2)
            {
                yield return (tag >> 3, value);
            }
        }
    }

    private static byte[] Skip(byte[] message, ref int at, int wire)
    {
        switch (wire)
        {
            case 0:
                Varint(message, ref at);
                return [];
            case 1:
                at += 8;
                return [];
            case 5:
                at += 4;
                return [];
            case 2:
                var length = (int)Varint(message, ref at);
                var value = message.AsSpan(at, length).ToArray();
                at += length;
                return value;
            default:
                throw new InvalidDataException($"Protobuf wire type {wire} is not expected in OTLP.");
        }
    }

    private static ulong Varint(byte[] message, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
