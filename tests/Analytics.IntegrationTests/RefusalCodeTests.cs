using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Analytics.Contracts;
using Analytics.Ingesting;
using RabbitMQ.Client;
using static Analytics.IntegrationTests.MessageHeaders;

namespace Analytics.IntegrationTests;

/// <summary>
/// Every refusal code of docs/contracts.md (section 6), produced through the real worker: each refused event or
/// message is in the refused queue with all its documented headers (or, for messages that cannot be read, in the
/// error queue), counted per reason, and the message-size limits hold exactly at their bounds.
/// </summary>
public sealed class RefusalCodeTests : WorkerPlatformTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Every_refusal_code_reaches_its_queue_with_its_headers_and_is_counted_per_reason()
    {
        var worker = await _platform.StartWorkerAsync();
        var valid = TestConversations.Generate(2);
        // Event-level refusals, one of each code, side by side with valid events in one message.
        var broken = new List<(string Code, JsonNode Event, string? EventId, string? Type)>();
        void Add(string code, Action<JsonObject> edit, bool idReadable = true, bool typeReadable = true)
        {
            var node = Rating();
            edit(node);
            broken.Add((code, node, idReadable ? node["eventId"]!.GetValue<string>() : null, typeReadable ? node["type"]!.GetValue<string>() : null));
        }

        broken.Add((Refusal.Codes.NotAnObject, JsonValue.Create(1)!, null, null));
        Add(Refusal.Codes.MissingField, e => e.Remove("model"));
        Add(Refusal.Codes.InvalidId, e => e["eventId"] = Guid.Empty.ToString(), idReadable: false, typeReadable: false);
        Add(Refusal.Codes.UnknownType, e => e["type"] = "ResponseLoved");
        Add(Refusal.Codes.UnsupportedSchemaVersion, e => e["schemaVersion"] = 2);
        Add(Refusal.Codes.UnknownEnum, e => e["rating"] = "meh");
        Add(Refusal.Codes.InvalidField, e => e["occurredAt"] = "1999-12-31T23:59:59Z");
        Add(Refusal.Codes.TextTooLong, e => e["source"] = new string('s', 129));
        Add(Refusal.Codes.TooManyItems, e => e["capabilities"] = new JsonArray([.. Enumerable.Range(0, 17).Select(i => (JsonNode)$"c{i}")]));
        var mixed = new JsonArray([.. valid.Select(e => (JsonNode)TestConversations.AsJson(e)), .. broken.Select(b => b.Event.DeepClone())]);

        // Message-level limits, each bound exactly: 1000 events and 1,048,576 bytes are taken, one more of either is not.
        var thousand = TestConversations.Generate(250);
        var thousandAndOne = TestConversations.Generate(250).Append(TestConversations.Generate(1)[0]).ToList();
        var fullSize = TestConversations.Generate(1);
        var fullSizeBody = Padded(fullSize, 1_048_576);
        var overSize = TestConversations.Generate(1);
        var overSizeBody = Padded(overSize, 1_048_577);

        var sent = DateTimeOffset.UtcNow;
        var ids = new Dictionary<string, string>
        {
            ["mixed"] = await _platform.PublishRawAsync(mixed.ToJsonString()),
            ["1000 events"] = await _platform.PublishRawAsync(JsonSerializer.Serialize(FeedbackEventBatch.From(thousand))),
            ["1001 events"] = await _platform.PublishRawAsync(JsonSerializer.Serialize(FeedbackEventBatch.From(thousandAndOne))),
            ["1048576 bytes"] = await _platform.PublishRawAsync(fullSizeBody),
            ["1048577 bytes"] = await _platform.PublishRawAsync(overSizeBody),
            ["not JSON"] = await _platform.PublishRawAsync("{\"type\": \"ResponseRated\", \"eventId\": "),
        };

        var expectedStored = valid.Concat(thousand).Concat(fullSize).Select(TestConversations.EventId).Order().ToList();
        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.StoredEventCountAsync() >= expectedStored.Count
                && await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= broken.Count + 2
                && await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue) >= 1,
            Timeout,
            async () => $"stored {await _platform.StoredEventCountAsync()}/{expectedStored.Count}, refused {await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)}, "
                + $"errors {await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue)}\n{worker.Output}");
        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout);
        var received = DateTimeOffset.UtcNow;

        Assert.Equal(expectedStored, (await _platform.StoredEventsAsync()).Keys.Order());
        var refused = await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue);
        Assert.Equal(broken.Count + 2, refused.Count);

        foreach (var (code, original, eventId, type) in broken)
        {
            var message = Assert.Single(refused, m => Header(m, IngestionTopology.RefusalCodeHeader) == code);
            AssertHeaders(message, code, eventId, type, ids["mixed"], sent, received);
            Assert.True(JsonNode.DeepEquals(original, JsonNode.Parse(message.Body.Span)!.AsArray().Single()), $"{code}: the refused queue keeps the event as it was sent");
        }

        var tooMany = Assert.Single(refused, m => Header(m, IngestionTopology.RefusalCodeHeader) == Refusal.Codes.TooManyEvents);
        AssertHeaders(tooMany, Refusal.Codes.TooManyEvents, null, null, ids["1001 events"], sent, received);
        Assert.Contains("1001", Header(tooMany, IngestionTopology.RefusalReasonHeader));
        var tooLarge = Assert.Single(refused, m => Header(m, IngestionTopology.RefusalCodeHeader) == Refusal.Codes.MessageTooLarge);
        AssertHeaders(tooLarge, Refusal.Codes.MessageTooLarge, null, null, ids["1048577 bytes"], sent, received);
        Assert.Contains("1048576", Header(tooLarge, IngestionTopology.RefusalReasonHeader));

        // Not JSON: the error queue, unchanged, with MassTransit's fault headers.
        var unreadable = Assert.Single(await _platform.DrainQueueAsync(IngestionTopology.ErrorQueue));
        Assert.Equal(ids["not JSON"], unreadable.BasicProperties.MessageId);
        Assert.Equal("{\"type\": \"ResponseRated\", \"eventId\": ", Encoding.UTF8.GetString(unreadable.Body.Span));
        Assert.False(string.IsNullOrWhiteSpace(Header(unreadable, "MT-Fault-Message")));

        // Counted per reason: exactly one of each.
        foreach (var code in broken.Select(b => b.Code).Append(Refusal.Codes.TooManyEvents).Append(Refusal.Codes.MessageTooLarge).Append(Refusal.Codes.InvalidJson))
        {
            Assert.True(1 == await worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{code}\""), $"{code} counted once");
        }

        Assert.Equal(broken.Count + 3, await worker.MetricAsync("analytics_ingest_events_refused_total"));
    }

    private static void AssertHeaders(BasicGetResult message, string code, string? eventId, string? type, string messageId, DateTimeOffset sent, DateTimeOffset received)
    {
        Assert.Equal(code, Header(message, IngestionTopology.RefusalCodeHeader));
        Assert.False(string.IsNullOrWhiteSpace(Header(message, IngestionTopology.RefusalReasonHeader)), $"{code}: no reason");
        Assert.True(eventId == Header(message, IngestionTopology.EventIdHeader), $"{code}: x-event-id {Header(message, IngestionTopology.EventIdHeader)}, expected {eventId}");
        Assert.True(type == Header(message, IngestionTopology.EventTypeHeader), $"{code}: x-event-type {Header(message, IngestionTopology.EventTypeHeader)}, expected {type}");
        Assert.Equal(messageId, Header(message, IngestionTopology.OriginalMessageIdHeader));
        var refusedAt = DateTimeOffset.Parse(Header(message, IngestionTopology.RefusedAtHeader)!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
        Assert.InRange(refusedAt, sent.AddSeconds(-1), received.AddSeconds(1));
        Assert.Equal("application/json", message.BasicProperties.ContentType);
        Assert.Equal(DeliveryModes.Persistent, message.BasicProperties.DeliveryMode);
    }

    private static JsonObject Rating() => TestConversations.AsJson(TestConversations.Generate(1).OfType<ResponseRated>().Single());

    /// <summary>The events as a JSON array padded with spaces (valid JSON whitespace) to exactly <paramref name="bytes"/> UTF-8 bytes.</summary>
    private static string Padded(IEnumerable<object> events, int bytes)
    {
        var json = JsonSerializer.Serialize(FeedbackEventBatch.From(events));
        var body = json[..^1] + new string(' ', bytes - Encoding.UTF8.GetByteCount(json)) + "]";
        Assert.Equal(bytes, Encoding.UTF8.GetByteCount(body));
        return body;
    }
}
