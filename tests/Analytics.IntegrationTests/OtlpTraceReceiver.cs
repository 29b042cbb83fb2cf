using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Analytics.IntegrationTests;

/// <summary>A span as exported over OTLP: ids as lowercase hex, links as (trace id, span id).</summary>
public sealed record ExportedSpan(
    string Service,
    string Scope,
    string Name,
    string TraceId,
    string SpanId,
    string ParentSpanId,
    IReadOnlyList<(string TraceId, string SpanId)> Links,
    IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// A tiny OTLP/HTTP receiver (http/protobuf, POST /v1/traces) on a loopback port, standing in for the collector: a host
/// pointed at it with OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf sends its spans here.
/// The ExportTraceServiceRequest is read field by field with Google.Protobuf's CodedInputStream
/// (opentelemetry/proto/trace/v1/trace.proto).
/// </summary>
public sealed class OtlpTraceReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ExportedSpan> _spans = new();

    private OtlpTraceReceiver(WebApplication app) => _app = app;

    public string Endpoint => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public IReadOnlyList<ExportedSpan> Spans => _spans.ToArray();

    public static async Task<OtlpTraceReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        var receiver = new OtlpTraceReceiver(app);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            foreach (var span in ReadExportRequest(body.ToArray()))
            {
                receiver._spans.Enqueue(span);
            }

            return Results.Bytes([], "application/x-protobuf");
        });
        // Metrics and logs are accepted and dropped.
        app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public string Describe() => string.Join('\n', Spans.Select(s =>
        $"{s.Service} {s.Scope} '{s.Name}' trace {s.TraceId} span {s.SpanId} parent {s.ParentSpanId} links [{string.Join(", ", s.Links.Select(l => l.TraceId + "/" + l.SpanId))}]"));

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    private static IEnumerable<ExportedSpan> ReadExportRequest(byte[] bytes)
    {
        var spans = new List<ExportedSpan>();
        foreach (var (field, value) in Fields(bytes))
        {
            if (field == 1)
            {
                spans.AddRange(ReadResourceSpans(value));
            }
        }

        return spans;
    }

    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
    private static IEnumerable<ExportedSpan> ReadResourceSpans(ByteString bytes)
    {
        var service = "";
        var scopes = new List<ByteString>();
        foreach (var (field, value) in Fields(bytes.ToByteArray()))
        {
            if (field == 1)
            {
                // Resource { repeated KeyValue attributes = 1; }
                var attributes = Attributes(Fields(value.ToByteArray()).Where(f => f.Field == 1).Select(f => f.Value));
                service = attributes.GetValueOrDefault("service.name", "");
            }
            else if (field == 2)
            {
                scopes.Add(value);
            }
        }

        foreach (var scopeSpans in scopes)
        {
            // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }, InstrumentationScope { string name = 1; }
            var fields = Fields(scopeSpans.ToByteArray()).ToList();
            var scope = fields.Where(f => f.Field == 1).Select(f => Fields(f.Value.ToByteArray()).FirstOrDefault(s => s.Field == 1).Value?.ToStringUtf8() ?? "")
                .FirstOrDefault() ?? "";
            foreach (var span in fields.Where(f => f.Field == 2))
            {
                yield return ReadSpan(service, scope, span.Value);
            }
        }
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; repeated KeyValue attributes = 9; repeated Link links = 13; }
    // Link { bytes trace_id = 1; bytes span_id = 2; }
    private static ExportedSpan ReadSpan(string service, string scope, ByteString bytes)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var links = new List<(string, string)>();
        var attributes = new List<ByteString>();
        foreach (var (field, value) in Fields(bytes.ToByteArray()))
        {
            switch (field)
            {
                case 1: traceId = Hex(value); break;
                case 2: spanId = Hex(value); break;
                case 4: parent = Hex(value); break;
                case 5: name = value.ToStringUtf8(); break;
                case 9: attributes.Add(value); break;
                case 13:
                    var link = Fields(value.ToByteArray()).ToList();
                    links.Add((Hex(link.First(f => f.Field == 1).Value), Hex(link.First(f => f.Field == 2).Value)));
                    break;
            }
        }

        return new ExportedSpan(service, scope, name, traceId, spanId, parent, links, Attributes(attributes));
    }

    // KeyValue { string key = 1; AnyValue value = 2; }, AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3; }
    private static Dictionary<string, string> Attributes(IEnumerable<ByteString> keyValues)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var keyValue in keyValues)
        {
            string? key = null, text = null;
            var input = new CodedInputStream(keyValue.ToByteArray());
            while (input.ReadTag() is var tag and not 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == 1)
                {
                    key = input.ReadString();
                }
                else if (WireFormat.GetTagFieldNumber(tag) == 2)
                {
                    var any = new CodedInputStream(input.ReadBytes().ToByteArray());
                    while (any.ReadTag() is var anyTag and not 0)
                    {
                        text = WireFormat.GetTagFieldNumber(anyTag) switch
                        {
                            1 => any.ReadString(),
                            2 => any.ReadBool().ToString(),
                            3 => any.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
                            _ => SkipAndKeep(any, text),
                        };
                    }
                }
                else
                {
                    input.SkipLastField();
                }
            }

            if (key is not null)
            {
                attributes[key] = text ?? "";
            }
        }

        return attributes;
    }

    private static string? SkipAndKeep(CodedInputStream input, string? text)
    {
        input.SkipLastField();
        return text;
    }

    /// <summary>The length-delimited fields of a message (numbers and bytes); other wire types are skipped.</summary>
    private static IEnumerable<(int Field, ByteString Value)> Fields(byte[] message)
    {
        var fields = new List<(int, ByteString)>();
        var input = new CodedInputStream(message);
        while (input.ReadTag() is var tag and not 0)
        {
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                fields.Add((WireFormat.GetTagFieldNumber(tag), input.ReadBytes()));
            }
            else
            {
                input.SkipLastField();
            }
        }

        return fields;
    }

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);
}
