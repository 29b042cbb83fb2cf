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
/// with its reason (by default its <see cref="RefusedCopy"/>, personal data replaced). A bad event never holds back its neighbours: whatever goes wrong while reading, validating or
/// redacting one event (an exception included) refuses that event alone; the message is acknowledged only after the commit.
/// An event whose eventId is already stored with another payload is refused after the commit as <c>event_id_conflict</c>.
/// </summary>
public sealed partial class IngestFeedbackConsumer(
    GroupCommitWriter writer,
    IngestionMetrics metrics,
    TimeProvider clock,
    IOptions<IngestionOptions> options,
    IngestionFaults faults,
    UserIdPseudonyms pseudonyms,
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

        if (events.Count + context.Message.Unreadable.Count > ContractLimits.MaxEventsPerMessage)
        {
            await RefuseAsync(context, context.Message, null, null, new Refusal(Refusal.Codes.TooManyEvents,
                $"message holds {events.Count + context.Message.Unreadable.Count} events; the limit is {ContractLimits.MaxEventsPerMessage}"), clock.GetUtcNow());
            return;
        }

        var receivedAt = clock.GetUtcNow();
        // The context each stored event keeps: its producer's, else this consume span's.
        var origin = producer ?? consume?.Context;
        var traceParent = origin is { } known ? TraceContextHeaders.Format(known) : null;
        var accepted = new List<AcceptedEvent>(events.Count);
        var acceptedRaw = new List<JsonElement>(events.Count);
        List<(FeedbackEventBatch Body, Guid? EventId, string? Type, Refusal Refusal, PayloadHashes? Hashes)>? refusals = null;
        Dictionary<string, int>? redacted = null;
        foreach (var raw in events)
        {
            ValidatedEvent validated;
            AcceptedEvent? ready = null;
            try
            {
                faults.ThrowIfUnreadable(raw);
                validated = FeedbackEventValidator.Validate(raw, receivedAt, options.Value.MaxFutureSkew);
                if (validated.IsValid)
                {
                    // Personal data is replaced by typed placeholders, the user id by its keyed pseudonym, before anything is stored.
                    var contract = pseudonyms.Apply(ContractRedaction.Redact(validated.Contract!, redacted ??= []));
                    ready = new AcceptedEvent(validated.EventId!.Value, FeedbackEventValidator.ConversationId(contract),
                        RecordedEvent.From(contract, receivedAt), traceParent, PayloadHash.Of(contract));
                }
            }
            catch (Exception ex)
            {
                // Whatever one event holds, it fails alone: its batch-mates go on. Only the exception's type is kept
                // (its message could quote what the user wrote); its eventId and type head the refusal when they can be read.
                validated = new ValidatedEvent(raw, ReadableEventId(raw), ReadableType(raw), null,
                    new Refusal(Refusal.Codes.Unreadable, $"the event could not be read ({ex.GetType().Name})"));
            }

            if (ready is not null)
            {
                accepted.Add(ready);
                acceptedRaw.Add(raw);
            }
            else
            {
                (refusals ??= []).Add((new FeedbackEventBatch([raw]), validated.EventId, validated.Type, validated.Refusal!, null));
            }
        }

        foreach (var unreadable in context.Message.Unreadable)
        {
            (refusals ??= []).Add((new FeedbackEventBatch([]) { Unreadable = [unreadable] }, null, null,
                new Refusal(Refusal.Codes.InvalidJson, $"event [{unreadable.Index}] is not JSON: {unreadable.Problem}"), null));
        }

        foreach (var (kind, count) in redacted ?? [])
        {
            metrics.Redacted(kind, count);
        }

        if (accepted.Count > 0)
        {
            // Completes after the commit; faults (store unavailable, poison) propagate, so MassTransit retries the
            // message and then parks it in its error queue. Refusals are sent after the commit, so a retry sends them once.
            var outcome = await writer.AppendAsync(accepted, consume?.Context, context.CancellationToken);
            for (var i = 0; outcome.Conflicts is not null && i < accepted.Count; i++)
            {
                if (outcome.IsConflict(accepted[i], out var storedHash))
                {
                    (refusals ??= []).Add((new FeedbackEventBatch([acceptedRaw[i]]), accepted[i].EventId,
                        acceptedRaw[i].TryGetProperty(FeedbackJson.TypeProperty, out var type) ? type.GetString() : null,
                        new Refusal(Refusal.Codes.EventIdConflict,
                            $"eventId {accepted[i].EventId} is already stored with another payload (stored sha256 {storedHash}, this one {accepted[i].PayloadSha256}); use a new eventId for new content"),
                        new PayloadHashes(accepted[i].PayloadSha256!, storedHash)));
                }
            }
        }

        consume?.SetTag("analytics.events.accepted", accepted.Count - (refusals?.Count(r => r.Hashes is not null) ?? 0));
        consume?.SetTag("analytics.events.refused", refusals?.Count ?? 0);
        foreach (var (body, eventId, type, refusal, hashes) in refusals ?? [])
        {
            await RefuseAsync(context, body, eventId, type, refusal, receivedAt, hashes);
        }
    }

    private async Task RefuseAsync(ConsumeContext<FeedbackEventBatch> message, FeedbackEventBatch body, Guid? eventId, string? type,
        Refusal refusal, DateTimeOffset refusedAt, PayloadHashes? payloadHashes = null)
    {
        var kept = options.Value.RefusedQueueKeepsOriginal ? body : RefusedCopy.Redacted(body, pseudonyms);
        await SendToRefusedQueue(message, kept, eventId, type, refusal, refusedAt, payloadHashes, redacted: !options.Value.RefusedQueueKeepsOriginal);
        metrics.Refused(refusal.Code);
        LogRefused(logger, eventId?.ToString() ?? "(none)", refusal.Code, refusal.Reason, message.MessageId?.ToString() ?? "(none)");
    }

    private static async Task SendToRefusedQueue(ConsumeContext<FeedbackEventBatch> message, FeedbackEventBatch body,
        Guid? eventId, string? type, Refusal refusal, DateTimeOffset refusedAt, PayloadHashes? payloadHashes, bool redacted)
    {
        var endpoint = await message.GetSendEndpoint(RefusedQueueAddress);
        await endpoint.Send(body, send =>
        {
            send.Serializer = send.Serialization.GetMessageSerializer(RawJson);
            send.Durable = true;
            send.Headers.Set(IngestionTopology.RefusalCodeHeader, refusal.Code);
            send.Headers.Set(IngestionTopology.RefusalReasonHeader, refusal.Reason);
            send.Headers.Set(IngestionTopology.RefusedAtHeader, refusedAt.ToString("O"));
            send.Headers.Set(IngestionTopology.RefusedCopyHeader, redacted ? "redacted" : "original");
            if (eventId is not null)
            {
                send.Headers.Set(IngestionTopology.EventIdHeader, eventId.Value.ToString());
            }

            if (type is not null)
            {
                send.Headers.Set(IngestionTopology.EventTypeHeader, type);
            }

            if (payloadHashes is { } hashes)
            {
                send.Headers.Set(IngestionTopology.PayloadHashHeader, hashes.Refused);
                send.Headers.Set(IngestionTopology.StoredPayloadHashHeader, hashes.Stored);
            }

            if (message.MessageId is not null)
            {
                send.Headers.Set(IngestionTopology.OriginalMessageIdHeader, message.MessageId.Value.ToString());
            }
        }, message.CancellationToken);
    }

    /// <summary>The eventId of an event that could not be read, when it is a valid one (for the refused queue's x-event-id).</summary>
    private static Guid? ReadableEventId(JsonElement raw) =>
        raw.ValueKind == JsonValueKind.Object && raw.TryGetProperty("eventId", out var id) && id.ValueKind == JsonValueKind.String
            && id.TryGetGuid(out var eventId) && eventId != Guid.Empty ? eventId : null;

    /// <summary>The type of an event that could not be read, when it is one of the contract's (for the refused queue's x-event-type).</summary>
    private static string? ReadableType(JsonElement raw) =>
        raw.ValueKind == JsonValueKind.Object && raw.TryGetProperty(FeedbackJson.TypeProperty, out var type) && type.ValueKind == JsonValueKind.String
            ? FeedbackJson.EventTypes.Keys.FirstOrDefault(name => type.ValueEquals(name))
            : null;

    /// <summary>The payload hashes of an <c>event_id_conflict</c>: the refused event's and the stored event's.</summary>
    private sealed record PayloadHashes(string Refused, string Stored);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused event {EventId}: {Code}: {Reason} (message {MessageId})")]
    private static partial void LogRefused(ILogger logger, string eventId, string code, string reason, string messageId);
}

/// <summary>The event store could not take a message's events; the message is retried, then parked in the error queue.</summary>
public sealed class EventStoreUnavailableException(string message) : Exception(message);
