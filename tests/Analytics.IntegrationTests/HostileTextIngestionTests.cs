using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Ingesting;
using Marten;
using Npgsql;
using static Analytics.IntegrationTests.MessageHeaders;

namespace Analytics.IntegrationTests;

/// <summary>
/// Text a producer cannot be trusted with, through the real worker, published as plain JSON like a producer in any
/// language would: one bad string is refused alone (invalid_text, invalid_json), and an eventId reused for other
/// content is refused as event_id_conflict, never silently dropped.
/// </summary>
public sealed class HostileTextIngestionTests : WorkerPlatformTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_NUL_an_unpaired_surrogate_or_a_broken_escape_in_one_event_refuses_that_event_alone_and_its_batch_mates_are_stored()
    {
        // This test is about the evidence as published: the refused queue keeps originals (by default it keeps redacted copies, RefusedCopyTests).
        var worker = await _platform.StartWorkerAsync(new Dictionary<string, string> { ["Ingestion__RefusedQueueKeepsOriginal"] = "true" });
        var valid = TestConversations.Generate(3);
        var conversationId = TestConversations.ConversationId(valid[0]);

        // Each broken event is a rating whose comment (or model id) is replaced by raw JSON text: .NET strings sent as
        // UTF-8 could not carry an unpaired surrogate, a producer's JSON can.
        var broken = new List<(string Code, string Body)>
        {
            (Refusal.Codes.InvalidText, Rating(conversationId, "comment", "\"before\\u0000after\"")),
            (Refusal.Codes.InvalidText, Rating(conversationId, "comment", "\"an emoji cut in half \\ud83d\"")),
            (Refusal.Codes.InvalidText, Rating(conversationId, "comment", "\"\\ude00 low half first\"")),
            (Refusal.Codes.InvalidText, Rating(conversationId, "comment", "\"next line \\u0085 (C1)\"")),
            (Refusal.Codes.InvalidText, Rating(conversationId, "model.id", "\"atlas\\u200b\"")),
            (Refusal.Codes.InvalidText, Rating(conversationId, "model.version", "\"2026-11\\u202e\"")),
            (Refusal.Codes.InvalidJson, Rating(conversationId, "comment", "\"a raw \u0001 control byte\"")),
            (Refusal.Codes.InvalidJson, Rating(conversationId, "comment", "\"a broken escape \\uZZZZ\"")),
        };
        // Format characters are fine in free text: emoji ZWJ sequences and right-to-left marks need them.
        var fineComment = "👩‍👩‍👧 \u200fשלום\u200e, 🇫🇷, e\u0301\u0301\u0301, \t tab";
        var fine = Rating(conversationId, "comment", JsonSerializer.Serialize(fineComment));
        var fineId = Guid.Parse(JsonNode.Parse(fine)!["eventId"]!.GetValue<string>());

        var body = "[" + string.Join(",", valid.Select(e => FeedbackJson.ToElement(e).GetRawText())
            .Concat(broken.Select(b => b.Body)).Append(fine)) + "]";
        await using (var channel = await _platform.OpenChannelAsync())
        {
            await _platform.PublishRawAsync(channel, body);
        }

        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue) > 0
                || (await _platform.StoredEventCountAsync() >= valid.Count + 1
                    && await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= broken.Count),
            Timeout,
            async () => $"stored {await _platform.StoredEventCountAsync()}, refused {await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)}\n{worker.Output}");

        Assert.Equal(0u, await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue));
        var stored = await _platform.StoredEventsAsync();
        Assert.Equal(valid.Select(TestConversations.EventId).Append(fineId).Order(), stored.Keys.Order());
        Assert.Equal(fineComment, await _platform.ScalarAsync<string>(
            $"select data ->> 'comment' from analytics.mt_events where id = '{fineId}'"));

        // Counted just after each refusal is sent: wait for the last count rather than race it.
        await TestEnvironment.WaitUntilAsync(async () => await worker.MetricAsync("analytics_ingest_events_refused_total") >= broken.Count, Timeout,
            async () => $"refusals counted {await worker.MetricAsync("analytics_ingest_events_refused_total")}");
        var refused = await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue);
        Assert.Equal(broken.Count, refused.Count);
        foreach (var code in broken.Select(b => b.Code).Distinct())
        {
            Assert.Equal(broken.Count(b => b.Code == code), refused.Count(m => Header(m, IngestionTopology.RefusalCodeHeader) == code));
            Assert.Equal(broken.Count(b => b.Code == code),
                await worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{code}\""));
        }

        // Each refused event is kept byte for byte as it was published, the unreadable ones included.
        // (The array around it is the refused queue's: its whitespace may differ.)
        var published = broken.Select(b => b.Body).ToHashSet(StringComparer.Ordinal);
        foreach (var message in refused)
        {
            var kept = Encoding.UTF8.GetString(message.Body.Span).Trim();
            Assert.True(kept.StartsWith('[') && kept.EndsWith(']') && published.Contains(kept[1..^1].Trim()), $"refused body not as published: {kept}");
        }
        foreach (var message in refused.Where(m => Header(m, IngestionTopology.RefusalCodeHeader) == Refusal.Codes.InvalidText))
        {
            Assert.Matches(@"^\$\.(comment|model\.id|model\.version) ", Header(message, IngestionTopology.RefusalReasonHeader));
        }
    }

    [Fact]
    public async Task An_eventId_published_again_with_other_content_is_refused_as_event_id_conflict_with_both_hashes_while_a_true_duplicate_has_no_effect()
    {
        var worker = await _platform.StartWorkerAsync();
        var conversation = TestConversations.Generate(1);
        var rating = (ResponseRated)conversation[3];
        var original = rating with { Comment = "the first words" };
        var rewritten = rating with { Comment = "other words, same eventId" };
        var later = (ResponseRated)TestConversations.Generate(1)[3];
        await using (var channel = await _platform.OpenChannelAsync())
        {
            await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From([.. conversation.Take(3), original])));
            await TestEnvironment.WaitUntilAsync(async () => await _platform.StoredEventCountAsync() >= 4, Timeout,
                async () => $"stored {await _platform.StoredEventCountAsync()}\n{worker.Output}");

            // Again with the same content (formatted differently, an unknown property added, occurredAt with another
            // offset): a duplicate. Then with other content: a conflict. In one message, with a new event that
            // arrives twice with different content (the second conflicts with the first).
            var again = TestConversations.AsJson(original);
            again["occurredAt"] = original.OccurredAt.ToOffset(TimeSpan.FromHours(2)).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz");
            again["clientBuild"] = "7.1";
            var body = new JsonArray(again, TestConversations.AsJson(rewritten), TestConversations.AsJson(later), TestConversations.AsJson(later with { Comment = "changed on retry" }));
            await _platform.PublishRawAsync(channel, body.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }

        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= 2 && await _platform.StoredEventCountAsync() >= 5,
            Timeout, async () => $"stored {await _platform.StoredEventCountAsync()}, refused {await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)}\n{worker.Output}");

        var refused = await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue);
        Assert.Equal(2, refused.Count);
        Assert.All(refused, m => Assert.Equal(Refusal.Codes.EventIdConflict, Header(m, IngestionTopology.RefusalCodeHeader)));
        foreach (var (eventId, storedComment) in new[] { (original.EventId, original.Comment), (later.EventId, later.Comment) })
        {
            var message = refused.Single(m => Header(m, IngestionTopology.EventIdHeader) == eventId.ToString());
            var storedHash = await _platform.ScalarAsync<string>(
                $"select headers ->> '{PayloadHash.Header}' from analytics.mt_events where id = '{eventId}'");
            Assert.Matches("^[0-9a-f]{64}$", storedHash);
            Assert.Equal(storedHash, Header(message, IngestionTopology.StoredPayloadHashHeader));
            Assert.Matches("^[0-9a-f]{64}$", Header(message, IngestionTopology.PayloadHashHeader));
            Assert.NotEqual(storedHash, Header(message, IngestionTopology.PayloadHashHeader));
            Assert.Equal(storedComment, await _platform.ScalarAsync<string>($"select data ->> 'comment' from analytics.mt_events where id = '{eventId}'"));
        }

        var stored = await _platform.StoredEventsAsync();
        Assert.Equal(5, stored.Count);
        Assert.All(stored.Values, row => Assert.Equal(1, row.Count));
        await TestEnvironment.WaitUntilAsync(async () => await worker.MetricAsync("analytics_ingest_events_duplicate_total") >= 1, Timeout,
            () => Task.FromResult("the duplicate was not counted"));
        Assert.Equal(1, await worker.MetricAsync("analytics_ingest_events_duplicate_total"));
        await TestEnvironment.WaitUntilAsync(async () => await worker.MetricAsync("analytics_ingest_events_refused_total") >= 2, Timeout,
            () => Task.FromResult("the conflicts were not counted"));
        Assert.Equal(2, await worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{Refusal.Codes.EventIdConflict}\""));
        Assert.Equal(5, await worker.MetricAsync("analytics_ingest_events_stored_total"));
    }

    [Fact]
    public async Task A_store_from_before_payload_hashes_upgrades_at_startup_and_keeps_treating_its_old_events_as_duplicates()
    {
        // The event store as it was: the project's configuration without event headers, one conversation stored.
        var old = TestConversations.Generate(1);
        await using (var ownerSource = EventStoreRegistration.CreateDataSource(_platform.ConnectionString))
        using (var store = DocumentStore.For(options =>
               {
                   EventStoreRegistration.ConfigureEventStore(options, ownerSource);
                   options.Events.MetadataConfig.HeadersEnabled = false;
               }))
        {
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            await using var session = store.LightweightSession();
            foreach (var e in old)
            {
                var recorded = ((DocumentStore)store).Events.BuildEvent(RecordedEvent.From(e, DateTimeOffset.UtcNow));
                recorded.Id = TestConversations.EventId(e);
                session.Events.Append(TestConversations.ConversationId(e), recorded);
            }

            await session.SaveChangesAsync();
        }

        Assert.Equal(0L, await _platform.ScalarAsync<long>(
            "select count(*) from information_schema.columns where table_schema = 'analytics' and table_name = 'mt_events' and column_name = 'headers'"));

        var worker = await _platform.StartWorkerAsync();
        var rating = (ResponseRated)old[3];
        var fresh = TestConversations.Generate(1);
        await using (var channel = await _platform.OpenChannelAsync())
        {
            // An old event again with other content: no hash was kept for it, so it is a duplicate as it always was.
            await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From([rating with { Comment = "edited" }, .. fresh])));
        }

        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.StoredEventCountAsync() >= 8 && await worker.MetricAsync("analytics_ingest_events_duplicate_total") >= 1,
            Timeout, async () => $"stored {await _platform.StoredEventCountAsync()}\n{worker.Output}");
        Assert.Equal(0u, await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue));
        Assert.Equal(4L, await _platform.ScalarAsync<long>(
            $"select count(*) from analytics.mt_events where headers ->> '{PayloadHash.Header}' ~ '^[0-9a-f]{{64}}$'"));
        Assert.Equal(4L, await _platform.ScalarAsync<long>(
            "select count(*) from analytics.mt_events where headers is null and type <> 'tombstone' and type not like 'cluster\\_%'"));
    }

    /// <summary>A valid rating of a new turn in <paramref name="conversationId"/> whose <paramref name="field"/> holds <paramref name="rawJsonValue"/> verbatim.</summary>
    private static string Rating(Guid conversationId, string field, string rawJsonValue)
    {
        var rating = new ResponseRated(Guid.NewGuid(), TestConversations.At.AddMinutes(1), 1, conversationId, "it", Guid.NewGuid(), Contracts.Rating.Down,
            [FeedbackReason.Other], new ModelRef("atlas", "2026-11"), ["chat"], "placeholder");
        var node = TestConversations.AsJson(rating);
        const string marker = "\"@@raw@@\"";
        var path = field.Split('.');
        var parent = path[..^1].Aggregate((JsonNode)node, (n, name) => n[name]!);
        parent[path[^1]] = "@@raw@@";
        return node.ToJsonString().Replace(marker, rawJsonValue, StringComparison.Ordinal);
    }
}
