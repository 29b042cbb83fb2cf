using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Analytics.Contracts;
using Analytics.Ingesting;
using RabbitMQ.Client;
using static Analytics.IntegrationTests.MessageHeaders;

namespace Analytics.IntegrationTests;

/// <summary>
/// The <c>unreadable</c> refusal (docs/contracts.md): an exception while one event is read refuses that event alone,
/// through the real worker. The validator turns every input it was given into a refusal code of its own (see
/// RefusalCodeTests and the hostile-content suites), so no published input is known to make reading throw: the fault
/// hook <c>Faults:ThrowWhileReadingEventId</c> makes the reader throw on one chosen event. The same worker runs with
/// <c>Triage:Enabled=false</c>: it projects the ratings and clusters none of them.
/// </summary>
public sealed class UnreadableRefusalTests : WorkerPlatformTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task An_event_that_throws_while_read_is_refused_alone_as_unreadable_with_its_headers()
    {
        var events = TestConversations.Generate(5); // conversations 0 and 4 are rated down, the others up
        var rating = events.OfType<ResponseRated>().ElementAt(1);
        var worker = await _platform.StartWorkerAsync(new Dictionary<string, string>
        {
            ["Faults__ThrowWhileReadingEventId"] = rating.EventId.ToString(),
            // The same worker shows Triage:Enabled=false (one worker process for both): the projections run, the clusterer does not.
            ["Triage__Enabled"] = "false",
        });

        var body = JsonSerializer.Serialize(FeedbackEventBatch.From(events));
        var sent = DateTimeOffset.UtcNow;
        var messageId = await _platform.PublishRawAsync(body);

        var expected = events.Select(TestConversations.EventId).Where(id => id != rating.EventId).Order().ToList();
        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.StoredEventCountAsync() >= expected.Count && await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= 1,
            Timeout, async () => $"stored {await _platform.StoredEventCountAsync()}/{expected.Count}, "
                + $"refused {await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)}\n{worker.Output}");
        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout);
        var received = DateTimeOffset.UtcNow;

        // Its neighbours are stored; the message itself did not fault.
        Assert.Equal(expected, (await _platform.StoredEventsAsync()).Keys.Order());
        Assert.False(await _platform.QueueExistsAsync(IngestionTopology.ErrorQueue) && await _platform.ReadyMessageCountAsync(IngestionTopology.ErrorQueue) > 0,
            "the message went to the error queue");

        var refused = Assert.Single(await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue));
        Assert.Equal(Refusal.Codes.Unreadable, Header(refused, IngestionTopology.RefusalCodeHeader));
        // The reason names the exception's type only: its message could quote what the user wrote.
        Assert.Equal($"the event could not be read ({nameof(UnreadableEventException)})", Header(refused, IngestionTopology.RefusalReasonHeader));
        Assert.Equal(rating.EventId.ToString(), Header(refused, IngestionTopology.EventIdHeader));
        Assert.Equal(nameof(ResponseRated), Header(refused, IngestionTopology.EventTypeHeader));
        Assert.Equal(messageId, Header(refused, IngestionTopology.OriginalMessageIdHeader));
        var refusedAt = DateTimeOffset.Parse(Header(refused, IngestionTopology.RefusedAtHeader)!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
        Assert.InRange(refusedAt, sent.AddSeconds(-1), received.AddSeconds(1));
        Assert.Equal(DeliveryModes.Persistent, refused.BasicProperties.DeliveryMode);
        // The refused queue keeps the event as it was published.
        var original = TestConversations.AsJson(rating);
        Assert.True(JsonNode.DeepEquals(original, JsonNode.Parse(refused.Body.Span)!.AsArray().Single()), "the refused event differs from the published one");

        Assert.Equal(1, await worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{Refusal.Codes.Unreadable}\""));
        Assert.Equal(1, await worker.MetricAsync("analytics_ingest_events_refused_total"));
        Assert.Equal(expected.Count, await worker.MetricAsync("analytics_ingest_events_stored_total"));

        // Triage:Enabled=false: the daemon projects the two thumbs-down ratings, and no clusterer takes them.
        await TestEnvironment.WaitUntilAsync(_platform.ProjectionCaughtUpAsync, Timeout, () => Task.FromResult($"the projection did not catch up\n{worker.Output}"));
        Assert.Equal(2, await _platform.ScalarAsync<long>("select coalesce(sum(down), 0)::bigint from analytics.sat_cell_totals where capability = '*'"));
        Assert.Equal(0, await _platform.ScalarAsync<long>(
            $"select count(*) from analytics.mt_event_progression where name like '{Analytics.Triage.ThumbsDownClusterer.SubscriptionName}%'"));
        Assert.DoesNotContain(Analytics.Triage.ThumbsDownClusterer.SubscriptionName, worker.Output);
    }
}
