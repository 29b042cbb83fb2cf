using System.Diagnostics;
using System.Net.Mime;
using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Redacting;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Analytics.Ingesting;

/// <summary>
/// Consumes batches of ingestion messages: validates every event, appends the valid ones of the whole
/// batch in one transaction, and sends each refused event to the refused queue with its reason.
/// A bad event never holds back its neighbours; messages are acknowledged only after the commit.
/// </summary>
public sealed partial class IngestFeedbackConsumer(
    FeedbackAppender appender,
    IngestionMetrics metrics,
    IngestionFaults faults,
    TimeProvider clock,
    ILogger<IngestFeedbackConsumer> logger) : IConsumer<Batch<FeedbackEventBatch>>
{
    private static readonly Uri RefusedQueueAddress = new($"queue:{IngestionTopology.RefusedQueue}");
    private static readonly ContentType RawJson = new("application/json");

    public async Task Consume(ConsumeContext<Batch<FeedbackEventBatch>> context)
    {
        var receivedAt = clock.GetUtcNow();
        var accepted = new List<AcceptedEvent>();
        var refusals = new List<(ConsumeContext<FeedbackEventBatch> Message, FeedbackEventBatch Body, Guid? EventId, string? Type, Refusal Refusal)>();
        var redacted = new Dictionary<string, int>();
        var producers = context.Message.Select(m => IngestionTracing.ProducerContext(m.ReceiveContext.TransportHeaders)).ToList();
        using var consume = IngestionTracing.StartConsume(producers, context.Message.Length);

        for (var index = 0; index < context.Message.Length; index++)
        {
            var message = context.Message[index];
            // The context each stored event keeps: its producer's, else this consume span's.
            var origin = producers[index] ?? consume?.Context;
            var traceParent = origin is { } known ? IngestionTracing.TraceParent(known) : null;
            var events = message.Message.Events;
            var size = message.ReceiveContext.Body.Length ?? 0;
            if (size > ContractLimits.MaxMessageBytes)
            {
                refusals.Add((message, message.Message, null, null, new Refusal(Refusal.Codes.MessageTooLarge,
                    $"message is {size} bytes; the limit is {ContractLimits.MaxMessageBytes}")));
                continue;
            }

            if (events.Count > ContractLimits.MaxEventsPerMessage)
            {
                refusals.Add((message, message.Message, null, null, new Refusal(Refusal.Codes.TooManyEvents,
                    $"message holds {events.Count} events; the limit is {ContractLimits.MaxEventsPerMessage}")));
                continue;
            }

            foreach (var raw in events)
            {
                var validated = FeedbackEventValidator.Validate(raw, receivedAt);
                if (validated.IsValid)
                {
                    // Personal data is replaced by typed placeholders before anything is stored.
                    var contract = ContractRedaction.Redact(validated.Contract!, redacted);
                    accepted.Add(new AcceptedEvent(validated.EventId!.Value, FeedbackEventValidator.ConversationId(contract),
                        RecordedEvent.From(contract, receivedAt), traceParent));
                }
                else
                {
                    refusals.Add((message, new FeedbackEventBatch([raw]), validated.EventId, validated.Type, validated.Refusal!));
                }
            }
        }

        foreach (var (kind, count) in redacted)
        {
            metrics.Redacted(kind, count);
        }

        if (accepted.Count > 0)
        {
            var started = Stopwatch.GetTimestamp();
            AppendOutcome outcome;
            faults.ThrowIfPoisoned(accepted.Select(e => e.EventId));
            using var append = IngestionTracing.StartAppend(accepted.Count);
            try
            {
                outcome = await appender.AppendAsync(accepted, context.CancellationToken);
                IngestionTracing.RecordOutcome(append, outcome);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                append?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                // Store exceptions can hold NpgsqlCommand graphs that break fault serialization.
                throw new EventStoreUnavailableException($"Appending {accepted.Count} events failed: {ex.GetType().Name}: {ex.Message}");
            }

            faults.AfterCommit();
            metrics.Appended(accepted.Count, Stopwatch.GetElapsedTime(started));
            metrics.Stored(outcome.Appended);
            metrics.BulkStored(outcome.BulkAppended);
            metrics.Duplicates(outcome.Duplicates);
        }

        consume?.SetTag("analytics.events.accepted", accepted.Count);
        consume?.SetTag("analytics.events.refused", refusals.Count);
        foreach (var (message, body, eventId, type, refusal) in refusals)
        {
            await SendToRefusedQueue(message, body, eventId, type, refusal, receivedAt);
            metrics.Refused(refusal.Code);
            LogRefused(logger, eventId?.ToString() ?? "(none)", refusal.Code, refusal.Reason, message.MessageId?.ToString() ?? "(none)");
        }
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

/// <summary>The event store could not take a batch; the messages are retried, then parked in the error queue.</summary>
public sealed class EventStoreUnavailableException(string message) : Exception(message);
