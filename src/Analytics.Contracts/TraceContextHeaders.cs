using System.Diagnostics;

namespace Analytics.Contracts;

/// <summary>
/// W3C trace context on the wire (https://www.w3.org/TR/trace-context/, docs/contracts.md "Trace context"): the
/// AMQP headers a producer sets and the worker reads, and the <c>traceparent</c> text of a context.
/// </summary>
public static class TraceContextHeaders
{
    public const string TraceParent = "traceparent";

    public const string TraceState = "tracestate";

    /// <summary>The <c>traceparent</c> value of a context: version 00, trace id, span id, sampled flag.</summary>
    public static string Format(ActivityContext context) =>
        $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{((context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";
}
