using System.Text.Json;
using System.Text.Json.Nodes;
using Analytics.Contracts;
using Analytics.Ingesting;
using Analytics.Publisher;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using static Analytics.IntegrationTests.MessageHeaders;

namespace Analytics.IntegrationTests;

/// <summary>Ingestion end to end against the real PostgreSQL and RabbitMQ, with the real worker process.</summary>
public sealed class IngestionTests : WorkerPlatformTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Events_published_through_MassTransit_and_as_plain_JSON_are_all_stored_exactly_once()
    {
        await _platform.StartWorkerAsync();
        var viaMassTransit = TestConversations.Generate(100);
        var viaRawJson = TestConversations.Generate(100);

        // (a) .NET chat service: the publisher library over MassTransit, batching by count/time.
        using (var chatService = ChatServiceHost())
        {
            await chatService.StartAsync();
            var publisher = chatService.Services.GetRequiredService<FeedbackPublisher>();
            await Task.WhenAll(viaMassTransit.Select(e => publisher.PublishAsync(e)));
            await chatService.StopAsync();
        }

        // (b) any language: plain JSON, half as single-event messages, half as arrays.
        await using (var channel = await _platform.OpenChannelAsync())
        {
            var half = viaRawJson.Count / 2;
            foreach (var e in viaRawJson.Take(half))
            {
                await _platform.PublishRawAsync(channel, FeedbackJson.ToElement(e).GetRawText());
            }

            foreach (var chunk in viaRawJson.Skip(half).Chunk(25))
            {
                await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(chunk)), contentType: null);
            }
        }

        var published = viaMassTransit.Concat(viaRawJson).ToList();
        await TestEnvironment.WaitUntilAsync(async () => await _platform.StoredEventCountAsync() >= published.Count, Timeout,
            async () => $"{await _platform.StoredEventCountAsync()} of {published.Count} stored");
        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout); // nothing in flight can still add a copy

        var stored = await _platform.StoredEventsAsync();
        Assert.Equal(published.Count, stored.Count);
        foreach (var e in published)
        {
            var row = stored[TestConversations.EventId(e)];
            Assert.Equal(1, row.Count);
            Assert.Equal(TestConversations.ConversationId(e), row.StreamId);
        }

        Assert.Equal(200, stored.Values.Count(r => r.Type == "response_rated_recorded")); // one rating per conversation
    }

    [Fact]
    public async Task A_backlog_of_single_event_messages_is_appended_in_groups_of_at_most_MessageLimit_messages()
    {
        // A first worker declares the queue, stores one conversation (so that its /metrics shows the bounds of the
        // append histogram's buckets) and goes away, so that the whole backlog waits when the next one starts.
        var declarer = await _platform.StartWorkerAsync();
        var first = TestConversations.Generate(1);
        await using (var channel = await _platform.OpenChannelAsync())
        {
            await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(first)));
        }

        await TestEnvironment.WaitUntilAsync(async () => await declarer.OptionalMetricAsync("analytics_ingest_append_messages_count") >= 1, Timeout,
            () => Task.FromResult($"the first worker did not append:\n{declarer.Output}"));
        // The limit under test is one of the histogram's bucket bounds (whatever they are), so that "every append
        // in the bucket up to the limit" says exactly "no append over the limit".
        var messageLimit = (int)(await BucketBoundsAsync(declarer, "analytics_ingest_append_messages_bucket")).Where(b => b is >= 10 and <= 60 && b == Math.Floor(b))
            .DefaultIfEmpty(double.NaN).Max();
        Assert.True(messageLimit > 0, "the append histogram has no integer bucket bound between 10 and 60 to test the limit against");
        declarer.Kill();
        await TestEnvironment.WaitUntilAsync(async () => await _platform.ConsumerCountAsync(IngestionTopology.Queue) == 0, Timeout,
            () => Task.FromResult("the killed worker still consumes"));
        var events = TestConversations.Generate(100); // 4 events each, one message per event
        await using (var channel = await _platform.OpenChannelAsync())
        {
            foreach (var e in events)
            {
                await _platform.PublishRawAsync(channel, FeedbackJson.ToElement(e).GetRawText());
            }
        }

        var worker = await _platform.StartWorkerAsync(new Dictionary<string, string> { ["Ingestion__MessageLimit"] = messageLimit.ToString() });
        await TestEnvironment.WaitUntilAsync(async () => await worker.OptionalMetricAsync("analytics_ingest_append_messages_sum") >= events.Count, Timeout,
            async () => $"appended {await worker.OptionalMetricAsync("analytics_ingest_append_messages_sum")} of {events.Count} messages\n{worker.Output}");

        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout);
        var stored = await _platform.StoredEventsAsync();
        Assert.Equal(first.Concat(events).Select(TestConversations.EventId).Order(), stored.Keys.Order());
        Assert.Equal(events.Count, (int)await worker.MetricAsync("analytics_ingest_events_stored_total"));
        // Group commit: the backlog went in far fewer appends than messages, none of them over the limit.
        var appends = await worker.MetricAsync("analytics_ingest_append_messages_count");
        Assert.Equal(events.Count, (int)await worker.MetricAsync("analytics_ingest_append_messages_sum"));
        Assert.InRange(appends, Math.Ceiling(events.Count / (double)messageLimit), events.Count / 4.0);
        // Every append in the bucket up to the limit: none took more messages.
        Assert.Equal(appends, await worker.MetricAsync("analytics_ingest_append_messages_bucket",
            $"le=\"{messageLimit.ToString(System.Globalization.CultureInfo.InvariantCulture)}\""));
    }

    [Fact]
    public async Task One_event_id_published_three_times_across_two_workers_is_stored_once()
    {
        var settings = new Dictionary<string, string> { ["Ingestion__MessageLimit"] = "5" };
        var first = await _platform.StartWorkerAsync(settings);
        var second = await _platform.StartWorkerAsync(settings);

        // 30 new conversations whose events arrive together on both workers: they race to start the same
        // streams (23505 on mt_streams) and to store the same eventIds.
        var events = TestConversations.Generate(30);
        await _platform.PublishInBatchesAsync(Enumerable.Repeat(events, 3).SelectMany(copy => copy), 3); // 120 events a copy: no batch spans two

        var expectedHandled = events.Count * 3;
        await TestEnvironment.WaitUntilAsync(async () => await HandledAsync(first, second) >= expectedHandled, Timeout,
            async () => $"handled {await HandledAsync(first, second)} of {expectedHandled}; stored {await _platform.StoredEventCountAsync()}");
        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout);

        var stored = await _platform.StoredEventsAsync();
        Assert.Equal(events.Count, stored.Count);
        Assert.All(stored.Values, row => Assert.Equal(1, row.Count));
        Assert.Equal(events.Count, (int)await TotalAsync("analytics_ingest_events_stored_total", first, second));
        Assert.Equal(events.Count * 2, (int)await TotalAsync("analytics_ingest_events_duplicate_total", first, second));
    }

    [Fact]
    public async Task A_batch_mixing_new_streams_existing_streams_and_duplicates_stores_each_event_once_in_stream_order_and_projects_it()
    {
        // A low bulk threshold so that small batches take the bulk path for their new conversations.
        var worker = await _platform.StartWorkerAsync(new Dictionary<string, string>
        {
            ["Ingestion__BulkAppendMinEvents"] = "4",
            ["Ingestion__MessageLimit"] = "50",
        });
        var conversations = TestConversations.Generate(40).Chunk(4).ToList(); // 4 events each, in stream order
        var early = conversations.Take(20).ToList();
        var late = conversations.Skip(20).ToList();

        // First the start of 20 conversations (new streams: bulk path) ...
        var firstHalves = early.SelectMany(c => c.Take(2)).ToList();
        await using (var channel = await _platform.OpenChannelAsync())
        {
            await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(firstHalves)));
        }

        await TestEnvironment.WaitUntilAsync(async () => await _platform.StoredEventCountAsync() >= firstHalves.Count, Timeout,
            async () => $"stored {await _platform.StoredEventCountAsync()} of {firstHalves.Count}\n{worker.Output}");

        // ... then one message with their rest (existing streams: quick path), 20 whole new conversations (bulk path),
        // redeliveries of stored events and repeats inside the message itself.
        var mixed = early.SelectMany(c => c.Skip(2))
            .Concat(late.SelectMany(c => c))
            .Concat(firstHalves.Take(20))
            .Concat(late.SelectMany(c => c).Take(10))
            .ToList();
        await using (var channel = await _platform.OpenChannelAsync())
        {
            await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(mixed)));
        }

        var all = conversations.SelectMany(c => c).ToList();
        await TestEnvironment.WaitUntilAsync(
            async () => (await worker.OptionalMetricAsync("analytics_ingest_events_stored_total") ?? 0) + (await worker.OptionalMetricAsync("analytics_ingest_events_duplicate_total") ?? 0)
                >= firstHalves.Count + mixed.Count && await _platform.ProjectionCaughtUpAsync(),
            Timeout, async () => $"stored {await _platform.StoredEventCountAsync()} of {all.Count}\n{worker.Output}");
        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout);

        var stored = await _platform.StoredEventsAsync();
        Assert.Equal(all.Select(TestConversations.EventId).Order(), stored.Keys.Order());
        Assert.All(stored.Values, row => Assert.Equal(1, row.Count));
        Assert.Equal(all.Count, await worker.MetricAsync("analytics_ingest_events_stored_total"));
        Assert.Equal(30, await worker.MetricAsync("analytics_ingest_events_duplicate_total"));
        Assert.Equal(firstHalves.Count + late.Sum(c => c.Length), await worker.MetricAsync("analytics_ingest_events_bulk_stored_total"));

        // Every stream holds its events as versions 1..4 in the order they were published, and its version is 4.
        var streams = await StreamsAsync();
        Assert.Equal(conversations.Count, streams.Count);
        foreach (var conversation in conversations)
        {
            var (version, eventIds) = streams[TestConversations.ConversationId(conversation[0])];
            Assert.Equal(4, version);
            Assert.Equal(conversation.Select(TestConversations.EventId), eventIds);
        }

        // The async daemon saw every event, whichever path stored it: two responses per conversation.
        Assert.Equal(conversations.Count * 2, await _platform.ScalarAsync<long>("select count(*) from analytics.sat_responses"));
    }

    [Fact]
    public async Task Two_workers_racing_to_start_the_same_new_streams_store_each_event_once_and_the_projection_misses_none()
    {
        // Both workers take the bulk path for every new conversation and run the projection daemon (hot/cold).
        var settings = new Dictionary<string, string>
        {
            ["Ingestion__BulkAppendMinEvents"] = "1",
            ["Ingestion__MessageLimit"] = "5",
        };
        var first = await _platform.StartWorkerAsync(settings);
        var second = await _platform.StartWorkerAsync(settings);

        // Every message three times: starts of new streams (bulk, racing) and continuations (quick, racing).
        var conversations = TestConversations.Generate(90).Chunk(4).ToList();
        await using (var channel = await _platform.OpenChannelAsync())
        {
            foreach (var group in conversations.Chunk(3))
            {
                for (var copy = 0; copy < 3; copy++)
                {
                    await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(group.SelectMany(c => c.Take(2)))));
                }

                for (var copy = 0; copy < 3; copy++)
                {
                    await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(group.SelectMany(c => c.Skip(2)))));
                }
            }
        }

        var all = conversations.SelectMany(c => c).ToList();
        await TestEnvironment.WaitUntilAsync(
            async () => await HandledAsync(first, second) >= all.Count * 3 && await _platform.ProjectionCaughtUpAsync(), Timeout,
            async () => $"handled {await HandledAsync(first, second)} of {all.Count * 3}; stored {await _platform.StoredEventCountAsync()}");
        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout);

        var stored = await _platform.StoredEventsAsync();
        Assert.Equal(all.Select(TestConversations.EventId).Order(), stored.Keys.Order());
        Assert.All(stored.Values, row => Assert.Equal(1, row.Count));
        Assert.Equal(all.Count, (int)await TotalAsync("analytics_ingest_events_stored_total", first, second));
        Assert.True(await TotalAsync("analytics_ingest_events_bulk_stored_total", first, second) > 0,
            "the bulk path was taken");
        var streams = await StreamsAsync();
        Assert.All(conversations, c => Assert.Equal(c.Select(TestConversations.EventId).ToHashSet(), streams[TestConversations.ConversationId(c[0])].EventIds.ToHashSet()));
        Assert.All(streams.Values, s => Assert.Equal(4, s.Version));
        Assert.Equal(conversations.Count * 2, await _platform.ScalarAsync<long>("select count(*) from analytics.sat_responses"));
    }

    [Fact]
    public async Task Each_kind_of_bad_input_is_refused_with_its_reason_kept_in_a_queue_and_counted_while_valid_neighbours_are_stored()
    {
        var worker = await _platform.StartWorkerAsync();
        var valid = TestConversations.Generate(2);
        var broken = new Dictionary<string, JsonObject>
        {
            [Refusal.Codes.MissingField] = Break(e => e.Remove("model")),
            [Refusal.Codes.UnknownEnum] = Break(e => e["rating"] = "meh"),
            [Refusal.Codes.UnsupportedSchemaVersion] = Break(e => e["schemaVersion"] = 7),
            [Refusal.Codes.InvalidId] = Break(e => e["turnId"] = "turn-1"),
            [Refusal.Codes.TextTooLong] = Break(e => e["comment"] = new string('x', ContractLimits.MaxComment + 1)),
            [Refusal.Codes.UnknownType] = Break(e => e["type"] = "ResponseLoved"),
        };

        // One message: valid events and every kind of broken event side by side.
        var mixed = new JsonArray(valid.Select(e => (JsonNode)JsonNode.Parse(FeedbackJson.ToElement(e).GetRawText())!)
            .Concat(broken.Values.Select(b => (JsonNode)b.DeepClone())).ToArray());
        await using (var channel = await _platform.OpenChannelAsync())
        {
            await _platform.PublishRawAsync(channel, mixed.ToJsonString());
            await _platform.PublishRawAsync(channel, "{\"type\": \"ResponseRated\", \"eventId\": "); // not JSON at all
        }

        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= broken.Count
                && await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue) >= 1
                && await _platform.StoredEventCountAsync() >= valid.Count,
            Timeout,
            async () => $"refused {await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)}, errors {await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue)}, stored {await _platform.StoredEventCountAsync()}\n{worker.Output}");

        var stored = await _platform.StoredEventsAsync();
        Assert.Equal(valid.Select(TestConversations.EventId).Order(), stored.Keys.Order());

        var refused = await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue);
        Assert.Equal(broken.Count, refused.Count);
        foreach (var (code, original) in broken)
        {
            var message = refused.Single(m => Header(m, IngestionTopology.EventIdHeader) == original["eventId"]!.GetValue<string>());
            Assert.Equal(code, Header(message, IngestionTopology.RefusalCodeHeader));
            Assert.False(string.IsNullOrWhiteSpace(Header(message, IngestionTopology.RefusalReasonHeader)));
            var body = JsonNode.Parse(message.Body.Span)!.AsArray();
            Assert.True(JsonNode.DeepEquals(original, body.Single()), "the refused queue keeps the event as it was sent");
        }

        var errors = await _platform.DrainQueueAsync(IngestionTopology.ErrorQueue);
        var unreadable = Assert.Single(errors);
        Assert.False(string.IsNullOrWhiteSpace(Header(unreadable, "MT-Fault-Message")));

        foreach (var code in broken.Keys)
        {
            Assert.Equal(1, await worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{code}\""));
        }

        Assert.Equal(1, await worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{Refusal.Codes.InvalidJson}\""));
    }

    [Fact]
    public async Task A_worker_killed_mid_stream_and_restarted_ends_with_exactly_the_published_set_stored()
    {
        // The fault hook kills the first worker right after its 5th group commit, before the acks: mid-stream by
        // construction (small appends, so 3000 events take far more than 5), not by racing publish pacing against polling.
        var first = await _platform.StartWorkerAsync(new Dictionary<string, string>
        {
            ["Faults__KillAfterCommitOnAppend"] = "5",
            ["Ingestion__MessageLimit"] = "5",
        });
        var events = TestConversations.Generate(750); // 3000 events
        await _platform.PublishInBatchesAsync(events, 10);

        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(!first.IsRunning), Timeout,
            () => Task.FromResult($"the fault hook did not kill the worker:\n{first.Output}"));
        Assert.Contains("FAULT-INJECTION: killing the worker after commit, before ack", first.Output);
        var storedAtKill = await _platform.StoredEventCountAsync();

        await _platform.StartWorkerAsync();
        await TestEnvironment.WaitUntilAsync(async () => await _platform.StoredEventCountAsync() >= events.Count, Timeout,
            async () => $"stored {await _platform.StoredEventCountAsync()} of {events.Count}");
        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout);

        var stored = await _platform.StoredEventsAsync();
        Assert.InRange(storedAtKill, 1, events.Count - 1); // the kill happened mid-stream
        Assert.Equal(events.Select(TestConversations.EventId).Order(), stored.Keys.Order());
        Assert.All(stored.Values, row => Assert.Equal(1, row.Count));
    }

    /// <summary>The upper bounds (le) of a Prometheus histogram's buckets as the worker exposes them.</summary>
    private static async Task<List<double>> BucketBoundsAsync(WorkerProcess worker, string bucketSeries)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{worker.Port}/metrics");
        var bounds = System.Text.RegularExpressions.Regex.Matches(text, $@"^{bucketSeries}{{[^}}]*le=""([0-9.]+)""", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .Distinct()
            .ToList();
        Assert.NotEmpty(bounds);
        return bounds;
    }

    /// <summary>
    /// A counter summed over workers. One of two racing workers may rightly never have incremented it (no series);
    /// every worker must still answer, and at least one must have the series.
    /// </summary>
    private static async Task<double> TotalAsync(string name, params WorkerProcess[] workers)
    {
        var values = new List<double?>();
        foreach (var worker in workers)
        {
            values.Add(await worker.OptionalMetricAsync(name));
        }

        return values.Any(v => v is not null) ? values.Sum(v => v ?? 0) : throw new InvalidOperationException($"no worker has the series {name}");
    }

    private static async Task<double> HandledAsync(WorkerProcess first, WorkerProcess second)
    {
        double total = 0;
        foreach (var worker in new[] { first, second })
        {
            // While waiting: a counter appears at its first increment, so "absent" is "nothing yet" here.
            total += await worker.OptionalMetricAsync("analytics_ingest_events_stored_total") ?? 0;
            total += await worker.OptionalMetricAsync("analytics_ingest_events_duplicate_total") ?? 0;
        }

        return total;
    }

    /// <summary>Stream id → (mt_streams version, event ids in version order) of the conversation streams (not triage or alert streams).</summary>
    private async Task<Dictionary<Guid, (long Version, List<Guid> EventIds)>> StreamsAsync()
    {
        await using var connection = new NpgsqlConnection(_platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select s.id, s.version, array_agg(e.id order by e.version)
            from analytics.mt_streams s join analytics.mt_events e on e.stream_id = s.id and e.type like '%\_recorded'
            group by s.id, s.version
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var streams = new Dictionary<Guid, (long, List<Guid>)>();
        while (await reader.ReadAsync())
        {
            streams[reader.GetGuid(0)] = (reader.GetInt64(1), reader.GetFieldValue<Guid[]>(2).ToList());
        }

        return streams;
    }

    private static JsonObject Break(Action<JsonObject> edit)
    {
        var rated = TestConversations.Generate(1).OfType<ResponseRated>().Single();
        var node = TestConversations.AsJson(rated);
        edit(node);
        return node;
    }

    private IHost ChatServiceHost() => Host.CreateDefaultBuilder()
        .ConfigureServices(services =>
        {
            services.AddMassTransit(bus => bus.UsingRabbitMq((_, rabbit) => rabbit.Host(_platform.PublisherAmqpUri, h => h.PublisherConfirmation = true)));
            services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
            services.AddFeedbackPublisher(o => o.MaxBatchSize = 50);
        })
        .Build();
}
