using System.Diagnostics;
using Analytics.Contracts;
using MassTransit;

namespace Analytics.Publisher;

/// <summary>
/// Trace context propagation the way a chat service does it: each message sent to the ingestion exchange gets a
/// producer span (<c>analytics.ingest publish</c>, source <see cref="SourceName"/>) and carries its W3C id in the
/// <c>traceparent</c> AMQP header, which the worker continues. A message batches events of many callers, so the
/// span links to every caller's context and is the child of the caller's span only when all its events come from
/// one trace. With nobody listening to <see cref="SourceName"/>, the caller's own context is sent when there is one.
/// </summary>
public static class PublisherTracing
{
    /// <summary>Add this source to the chat service's tracer provider (<c>AddSource(PublisherTracing.SourceName)</c>).</summary>
    public const string SourceName = "Analytics.Publisher";

    private const int MaxLinks = 128;

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Starts the publish span of one message; <paramref name="traceParent"/> is what the message carries: the span's id,
    /// else (nobody listens) the callers' context when they share one trace, else nothing.
    /// </summary>
    public static Activity? StartPublish(Uri destination, int events, IEnumerable<ActivityContext?> callers, out string? traceParent)
    {
        var known = callers.OfType<ActivityContext>().ToList();
        var oneTrace = known.Count > 0 && known.All(c => c.TraceId == known[0].TraceId);
        traceParent = oneTrace ? TraceContextHeaders.Format(known[0]) : null;
        if (!Source.HasListeners())
        {
            return null;
        }

        var links = known.DistinctBy(c => (c.TraceId, c.SpanId)).Take(MaxLinks).Select(c => new ActivityLink(c));
        var span = Source.StartActivity(ActivityKind.Producer, oneTrace ? known[0] : default, links: links, name: "analytics.ingest publish");
        span?.SetTag("messaging.system", "rabbitmq");
        span?.SetTag("messaging.operation.type", "send");
        span?.SetTag("messaging.destination.name", destination.AbsolutePath.TrimStart('/') is { Length: > 0 } path ? path : destination.ToString());
        span?.SetTag("messaging.batch.message_count", events);
        traceParent = span?.Id ?? traceParent;
        return span;
    }

    public static void Inject(SendHeaders headers, string? traceParent)
    {
        if (traceParent is not null)
        {
            headers.Set(TraceContextHeaders.TraceParent, traceParent);
        }
    }
}
