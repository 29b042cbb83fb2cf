using System.Net.Mime;
using System.Text.Json;
using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Redacting;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Analytics.Ingesting;

/// <summary>
/// Consumes one ingestion message: validates every event, hands the valid ones to the <see cref="GroupCommitWriter"/>
/// (which appends them together with the other messages waiting) and sends each refused event to the refused queue
/// with its reason. A bad event never holds back its neighbours; the message is acknowledged only after the commit.
/// </summary>
public sealed partial class IngestFeedbackConsumer(
    GroupCommitWriter writer,
    IngestionMetrics metrics,
    TimeProvider clock,
    IOptions<IngestionOptions> options,
    ILogger<IngestFeedbackConsumer> logger) : IConsumer<FeedbackEventBatch>
{
    private static readonly Uri RefusedQueueAddress = new($"queue:{IngestionTopology.RefusedQueue}");
    private static readonly ContentType RawJson = new("application/json");

    public async Task Consume(ConsumeContext<FeedbackEventBatch> context)
    {
        var events = context.Message.Events;
        var producer = IngestionTracing.ProducerContext(context.ReceiveContext.TransportHeaders);
        using var consume = IngestionTracing.StartConsume([producer], 1);
        var size = context.ReceiveContext.Body.Length ?? 0;
        if (size > ContractLimits.MaxMessageBytes)
        {
            await RefuseAsync(context, context.Message, null, null, new Refusal(Refusal.Codes.MessageTooLarge,
                $"message is {size} bytes; the limit is {ContractLimits.MaxMessageBytes}"), clock.GetUtcNow());
            return;
        }

        if (events.Count > ContractLimits.MaxEventsPerMessage)
        {
            await RefuseAsync(context, context.Message, null, null, new Refusal(Refusal.Codes.TooManyEvents,
                $"message holds {events.Count} events; the limit is {ContractLimits.MaxEventsPerMessage}"), clock.GetUtcNow());
            return;
        }

        var receivedAt = clock.GetUtcNow();
        // The context each stored event keeps: its producer's, else this consume span's.
        var origin = producer ?? consume?.Context;
        var traceParent = origin is { } known ? TraceContextHeaders.Format(known) : null;
        var accepted = new List<AcceptedEvent>(events.Count);
        List<(JsonElement Raw, Guid? EventId, string? Type, Refusal Refusal)>? refusals = null;
        Dictionary<string, int>? redacted = null;
        foreach (var raw in events)
        {
            var validated = FeedbackEventValidator.Validate(raw, receivedAt, options.Value.MaxFutureSkew);
            if (validated.IsValid)
            {
                // Personal data is replaced by typed placeholders before anything is stored.
                var contract = ContractRedaction.Redact(validated.Contract!, redacted ??= []);
                accepted.Add(new AcceptedEvent(validated.EventId!.Value, FeedbackEventValidator.ConversationId(contract),
                    RecordedEvent.From(contract, receivedAt), traceParent));
            }
            else
            {
                (refusals ??= []).Add((raw, validated.EventId, validated.Type, validated.Refusal!));
            }
        }

        foreach (var (kind, count) in redacted ?? [])
        {
            metrics.Redacted(kind, count);
        }

        if (accepted.Count > 0)
        {
            // Completes after the commit; faults (store unavailable, poison) propagate, so MassTransit retries the
            // message and then parks it in its error queue. Refusals are sent after the commit, so a retry sends them once.
            await writer.AppendAsync(accepted, consume?.Context, context.CancellationToken);
        }

        consume?.SetTag("analytics.events.accepted", accepted.Count);
        consume?.SetTag("analytics.events.refused", refusals?.Count ?? 0);
        foreach (var (raw, eventId, type, refusal) in refusals ?? [])
        {
            await RefuseAsync(context, new FeedbackEventBatch([raw]), eventId, type, refusal, receivedAt);
        }
    }

    private async Task RefuseAsync(ConsumeContext<FeedbackEventBatch> message, FeedbackEventBatch body, Guid? eventId, string? type,
        Refusal refusal, DateTimeOffset refusedAt)
    {
        await SendToRefusedQueue(message, body, eventId, type, refusal, refusedAt);
        metrics.Refused(refusal.Code);
        LogRefused(logger, eventId?.ToString() ?? "(none)", refusal.Code, refusal.Reason, message.MessageId?.ToString() ?? "(none)");
    }

    private static async Task SendToRefusedQueue(ConsumeContext<FeedbackEventBatch> message, FeedbackEventBatch body,
        Guid? eventId, string? type, Refusal refusal, DateTimeOffset refusedAt)
    {
        var endpoint = await message.GetSendEndpoint(RefusedQueueAddress);
        await endpoint.Send(body, send =>
        {
            send.Serializer = send.Serialization.GetMessageSerializer(RawJson);
            send.Durable = true;
            send.Headers.Set(IngestionTopology.RefusalCodeHeader, refusal.Code);
            send.Headers.Set(IngestionTopology.RefusalReasonHeader, refusal.Reason);
            send.Headers.Set(IngestionTopology.RefusedAtHeader, refusedAt.ToString("O"));
            if (eventId is not null)
            {
                send.Headers.Set(IngestionTopology.EventIdHeader, eventId.Value.ToString());
            }

            if (type is not null)
            {
                send.Headers.Set(IngestionTopology.EventTypeHeader, type);
            }

            if (message.MessageId is not null)
            {
                send.Headers.Set(IngestionTopology.OriginalMessageIdHeader, message.MessageId.Value.ToString());
            }
        }, message.CancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused event {EventId}: {Code}: {Reason} (message {MessageId})")]
    private static partial void LogRefused(ILogger logger, string eventId, string code, string reason, string messageId);
}

/// <summary>The event store could not take a message's events; the message is retried, then parked in the error queue.</summary>
public sealed class EventStoreUnavailableException(string message) : Exception(message);
