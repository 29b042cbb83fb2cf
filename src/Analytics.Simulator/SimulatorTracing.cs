using System.Diagnostics;
using Analytics.Publisher;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Analytics.Simulator;

/// <summary>
/// The simulator traces like a chat service: every event is published from inside a span standing for the chat request
/// that produced it (<c>chat feedback</c>), and the publisher carries that context to the platform (<see cref="PublisherTracing"/>).
/// Spans are recorded and exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
/// </summary>
public static class SimulatorTracing
{
    public const string SourceName = "Analytics.Simulator";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>OTLP export of the simulator's, the publisher's and MassTransit's spans, when configured.</summary>
    public static void AddSimulatorTracing(this HostApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            return;
        }

        // The host is built without defaults; the exporter reads OTEL_* settings from configuration.
        builder.Configuration.AddEnvironmentVariables();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("analytics-simulator"))
            .WithTracing(tracing => tracing
                .AddSource(SourceName, PublisherTracing.SourceName, "MassTransit")
                .AddOtlpExporter());
    }

    /// <summary>The span of the simulated chat request behind one event; null when tracing is off.</summary>
    public static Activity? StartChatRequest(object contractEvent)
    {
        var activity = Source.StartActivity("chat feedback", ActivityKind.Server);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("analytics.event.type", contractEvent.GetType().Name);
            if (contractEvent.GetType().GetProperty("EventId")?.GetValue(contractEvent) is Guid eventId)
            {
                activity.SetTag("analytics.event_id", eventId.ToString());
            }

            if (contractEvent.GetType().GetProperty("ConversationId")?.GetValue(contractEvent) is Guid conversationId)
            {
                activity.SetTag("analytics.conversation_id", conversationId.ToString());
            }
        }

        return activity;
    }
}
