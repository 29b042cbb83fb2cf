using System.Diagnostics;
using JasperFx.Events;

namespace Analytics.Satisfaction;

/// <summary>
/// One span per daemon page of the satisfaction projection (<c>satisfaction page</c>), linked to the trace context
/// each event was ingested with (its causation id, a W3C traceparent: see <c>IngestionTracing</c>). When every traced
/// event of the page belongs to one trace the span joins that trace as a child, so a single event's trace reads
/// publish → consume → append → projection in one view; otherwise it stays under the daemon's page span and links.
/// </summary>
public static class SatisfactionTracing
{
    public const string SourceName = "Analytics.Satisfaction";

    private const int MaxLinks = 128;

    private static readonly ActivitySource Source = new(SourceName);

    public static Activity? StartPage(IReadOnlyList<IEvent> events)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var origins = new Dictionary<(ActivityTraceId, ActivitySpanId), ActivityContext>();
        var traced = 0;
        foreach (var e in events)
        {
            if (e.CausationId is { } causation && ActivityContext.TryParse(causation, null, isRemote: true, out var origin))
            {
                traced++;
                origins.TryAdd((origin.TraceId, origin.SpanId), origin);
            }
        }

        var oneTrace = origins.Count > 0 && origins.Values.All(o => o.TraceId == origins.Values.First().TraceId);
        var parent = oneTrace ? origins.Values.First() : Activity.Current?.Context ?? default;
        var links = origins.Values.Take(MaxLinks).Select(o => new ActivityLink(o)).ToList();
        var activity = Source.StartActivity(ActivityKind.Internal, parent, links: links, name: "satisfaction page");
        if (activity is not null && events.Count > 0)
        {
            activity.SetTag("analytics.events", events.Count);
            activity.SetTag("analytics.events.traced", traced);
            activity.SetTag("analytics.traces.linked", links.Count);
            activity.SetTag("event.floor", events[0].Sequence);
            activity.SetTag("event.ceiling", events[^1].Sequence);
        }

        return activity;
    }
}
