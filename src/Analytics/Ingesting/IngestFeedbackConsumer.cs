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
        var acceptedFrom = new List<ConsumeContext<FeedbackEventBatch>>(); // the message of each accepted event
        var refusals = new List<(ConsumeContext<FeedbackEventBatch> Message, FeedbackEventBatch Body, Guid? EventId, string? Type, Refusal Refusal)>();
        var redacted = new Dictionary<string, int>();
        var producers = context.Message.Select(m => IngestionTracing.ProducerContext(m.ReceiveContext.TransportHeaders)).ToList();
        using var consume = IngestionTracing.StartConsume(producers, context.Message.Length);

        for (var index = 0; index < context.Message.Length; index++)
        {
            var message = context.Message[index];
            // The context each stored event keeps: its producer's, else this consume span's.
            var origin = producers[index] ?? consume?.Context;
            var traceParent = origin is { } known ? TraceContextHeaders.Format(known) : null;
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
                    acceptedFrom.Add(message);
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

        LogValidated(logger, accepted.Count, refusals.Count, context.Message.Length, (clock.GetUtcNow() - receivedAt).TotalMilliseconds);

        if (accepted.Count > 0)
        {
            var started = Stopwatch.GetTimestamp();
            AppendOutcome outcome;
            using var append = IngestionTracing.StartAppend(accepted.Count);
            try
            {
                faults.ThrowIfPoisoned(accepted.Select(e => e.EventId));
                outcome = await appender.AppendAsync(accepted, context.CancellationToken);
                IngestionTracing.RecordOutcome(append, outcome);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && acceptedFrom.Distinct().Count() > 1)
            {
                // One message must not hold back the others of its batch: append message by message, so the batch-mates
                // are stored now; the batch then faults as a whole (retried, then parked: a replay skips what is stored).
                append?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                outcome = await AppendMessageByMessageAsync(accepted, acceptedFrom, context.CancellationToken);
            }
            catch (PoisonEventException)
            {
                throw; // the fault hook's own exception, as it is (nothing of the store in it)
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

    private async Task<AppendOutcome> AppendMessageByMessageAsync(List<AcceptedEvent> accepted, List<ConsumeContext<FeedbackEventBatch>> acceptedFrom,
        CancellationToken cancellationToken)
    {
        var total = new AppendOutcome(0, 0, 0, 0);
        var failed = new List<(ConsumeContext<FeedbackEventBatch> Message, Exception Error)>();
        var byMessage = accepted.Select((e, i) => (Event: e, Message: acceptedFrom[i])).GroupBy(x => x.Message, x => x.Event).ToList();
        foreach (var group in byMessage)
        {
            var events = group.ToList();
            try
            {
                faults.ThrowIfPoisoned(events.Select(e => e.EventId));
                var outcome = await appender.AppendAsync(events, cancellationToken);
                total = new AppendOutcome(total.Appended + outcome.Appended, total.Duplicates + outcome.Duplicates,
                    total.Attempts + outcome.Attempts, total.BulkAppended + outcome.BulkAppended);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failed.Add((group.Key, ex));
            }
        }

        if (failed.Count == 0)
        {
            return total;
        }

        // The batch-mates are stored; the batch still faults, so MassTransit retries it (what is stored is skipped as
        // a duplicate) and then parks it in its error queue with the exception, where a replay is idempotent.
        metrics.Stored(total.Appended);
        metrics.BulkStored(total.BulkAppended);
        metrics.Duplicates(total.Duplicates);
        var (message, error) = failed[0];
        LogNotStored(logger, failed.Count, byMessage.Count, message.MessageId?.ToString() ?? "(none)", error.GetType().Name, error.Message);
        if (error is PoisonEventException)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }

        throw new EventStoreUnavailableException(failed.Count == byMessage.Count
            ? $"Appending {accepted.Count} events failed, message by message too: {error.GetType().Name}: {error.Message}"
            : $"{failed.Count} of {byMessage.Count} messages could not be stored (their batch-mates were): {error.GetType().Name}: {error.Message}");
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

    [LoggerMessage(Level = LogLevel.Error, Message = "{Failed} of {Messages} messages of a batch could not be stored, the others were (first: message {MessageId}, {ExceptionType}: {Reason}); the batch is retried, then parked")]
    private static partial void LogNotStored(ILogger logger, int failed, int messages, string messageId, string exceptionType, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Validated {Accepted} events, refused {Refused}, of {Messages} messages in {ElapsedMs:0.0} ms")]
    private static partial void LogValidated(ILogger logger, int accepted, int refused, int messages, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused event {EventId}: {Code}: {Reason} (message {MessageId})")]
    private static partial void LogRefused(ILogger logger, string eventId, string code, string reason, string messageId);
}

/// <summary>The event store could not take a batch; the messages are retried, then parked in the error queue.</summary>
public sealed class EventStoreUnavailableException(string message) : Exception(message);
