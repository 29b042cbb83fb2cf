using System.Diagnostics;
using System.Text;
using Analytics.Contracts;
using MassTransit;

namespace Analytics.Ingesting;

/// <summary>
/// Spans of the ingestion path. A message's trace context comes from its W3C <c>traceparent</c> AMQP header
/// (plain JSON producers, docs/contracts.md) or MassTransit's <c>MT-Activity-Id</c> header (MassTransit
/// producers). The consume span of each message continues it (parent and link). The append of a group of
/// messages (<see cref="GroupCommitWriter"/>) is a child of the consume span when the group is one message, and
/// is linked to every message's consume span. Every stored event keeps
/// its message's context as Marten metadata (correlation id = trace id, causation id = traceparent), so that
/// the projections can link their pages to it.
/// </summary>
public static class IngestionTracing
{
    public const string SourceName = "Analytics.Ingesting";

    /// <summary>MassTransit 8 carries the sending activity's W3C id in this header.</summary>
    public const string MassTransitActivityHeader = "MT-Activity-Id";

    /// <summary>OpenTelemetry's default limit of links per span.</summary>
    public const int MaxLinks = 128;

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>The producer's trace context of one message, from its transport headers.</summary>
    public static ActivityContext? ProducerContext(Headers headers)
    {
        var traceParent = HeaderText(headers, TraceContextHeaders.TraceParent) ?? HeaderText(headers, MassTransitActivityHeader);
        return traceParent is not null && ActivityContext.TryParse(traceParent, HeaderText(headers, TraceContextHeaders.TraceState), isRemote: true, out var context)
            ? context
            : null;
    }

    /// <summary>
    /// The consume span of a batch (<c>analytics-ingest process</c>): the child of the messages' trace when
    /// they all share one, linked to every message's context. Null when nobody listens.
    /// </summary>
    public static Activity? StartConsume(IReadOnlyList<ActivityContext?> producers, int messages)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var known = producers.OfType<ActivityContext>().ToList();
        var parent = known.Count > 0 && known.Count == producers.Count && known.All(c => c.TraceId == known[0].TraceId)
            ? known[0]
            : default;
        var links = known.DistinctBy(c => (c.TraceId, c.SpanId)).Take(MaxLinks).Select(c => new ActivityLink(c));
        var activity = Source.StartActivity(ActivityKind.Consumer, parent, links: links, name: $"{IngestionTopology.Queue} process");
        activity?.SetTag("messaging.system", "rabbitmq");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.destination.name", IngestionTopology.Queue);
        activity?.SetTag("messaging.batch.message_count", messages);
        return activity;
    }

    /// <summary>
    /// The append of a group of messages' accepted events (<c>feedback append</c>, <see cref="GroupCommitWriter"/>): the
    /// child of the consume span when the group is one message, linked to every message's consume span always.
    /// </summary>
    public static Activity? StartAppend(int events, int messages, IEnumerable<ActivityContext?> consumes)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var known = consumes.OfType<ActivityContext>().ToList();
        var parent = messages == 1 && known.Count == 1 ? known[0] : default;
        var links = known.Take(MaxLinks).Select(c => new ActivityLink(c));
        var activity = Source.StartActivity(ActivityKind.Internal, parent, links: links, name: "feedback append");
        activity?.SetTag("analytics.events", events);
        activity?.SetTag("analytics.append.messages", messages);
        return activity;
    }

    public static void RecordOutcome(Activity? append, AppendOutcome outcome)
    {
        if (append is null)
        {
            return;
        }

        append.SetTag("analytics.events.appended", outcome.Appended);
        append.SetTag("analytics.events.bulk_appended", outcome.BulkAppended);
        append.SetTag("analytics.events.duplicates", outcome.Duplicates);
        append.SetTag("analytics.append.transactions", outcome.Attempts);
    }

    private static string? HeaderText(Headers headers, string name) =>
        headers.TryGetHeader(name, out var value)
            ? value switch
            {
                string text => text,
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                _ => value?.ToString(),
            }
            : null;
}
