using System.Text.Json;
using Analytics.Contracts;
using Analytics.Simulator;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>Seeded personal data never reaches the event store, the projections, the logs or the API.</summary>
public sealed class PiiRedactionTests : ApiPlatformTest
{
    private static readonly string[] Seeded = ["pii.probe@example.com", "@example.", "+1 415 555 0134", "555 0134", "4111 1111 1111 1111", "203.0.113.7"];

    [Fact]
    public async Task Comments_and_excerpts_are_redacted_before_they_are_stored()
    {
        var worker = await _platform.StartWorkerAsync(new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Information" });
        var at = new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);
        var conversation = Guid.NewGuid();
        var turn = Guid.NewGuid();
        var model = new ModelRef("atlas", "2026-11");
        var probes = new List<object>
        {
            new ConversationStarted(Guid.NewGuid(), at, 1, conversation, "it", "u", "web", "en", new Personalization(false)),
            new ResponseGenerated(Guid.NewGuid(), at, 1, conversation, "it", turn, 0, model, ["chat"], new Modality(["text"], ["text"]), 10, 1, 1,
                new Moderation(false, []), null, "my server 203.0.113.7 is down, mail pii.probe@example.com", "call +1 415 555 0134"),
            new ResponseRated(Guid.NewGuid(), at.AddMinutes(1), 1, conversation, "it", turn, Rating.Down, [FeedbackReason.Unsafe], model, ["chat"],
                "it printed my card 4111 1111 1111 1111, reach me at pii.probe@example.com"),
        };
        var traffic = new TrafficModel(new TrafficOptions { Seed = 77, PiiCommentProbability = 0.9, Start = at.AddDays(-1) }).Generate().Take(3000).ToList();
        await using (var channel = await _platform.OpenChannelAsync())
        {
            await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(probes)));
            foreach (var chunk in traffic.Chunk(100))
            {
                await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(chunk)));
            }
        }

        var total = probes.Count + traffic.Count;
        await TestEnvironment.WaitUntilAsync(async () => await _platform.StoredEventCountAsync() >= total && await _platform.ProjectionCaughtUpAsync(), TimeSpan.FromSeconds(120),
            async () => $"stored {await _platform.StoredEventCountAsync()} of {total}");
        await _platform.WaitUntilQuietAsync(Analytics.Ingesting.IngestionTopology.Queue, TimeSpan.FromSeconds(120));

        await using var connection = new NpgsqlConnection(_platform.ConnectionString);
        await connection.OpenAsync();
        foreach (var (what, sql) in new[]
        {
            ("event store", "select string_agg(data::text, ' ') from analytics.mt_events"),
            ("ratings", "select string_agg(coalesce(comment, ''), ' ') from analytics.sat_ratings"),
            ("responses", "select string_agg(coalesce(prompt_excerpt, '') || ' ' || coalesce(response_excerpt, ''), ' ') from analytics.sat_responses"),
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            var text = (string)(await command.ExecuteScalarAsync())!;
            Assert.All(Seeded, pii => Assert.DoesNotContain(pii, text, StringComparison.Ordinal));
            Assert.Contains("[EMAIL]", text, StringComparison.Ordinal);
        }

        var view = await ApiClients.Viewer(_api).GetStringAsync($"/api/conversations/{conversation}");
        var events = await ApiClients.Viewer(_api).GetStringAsync($"/api/conversations/{conversation}/events");
        foreach (var body in new[] { view, events })
        {
            Assert.All(Seeded, pii => Assert.DoesNotContain(pii, body, StringComparison.Ordinal));
            Assert.Contains("[CARD]", body, StringComparison.Ordinal);
            Assert.Contains("[IP]", body, StringComparison.Ordinal);
            Assert.Contains("[PHONE]", body, StringComparison.Ordinal);
        }

        Assert.All(Seeded, pii => Assert.DoesNotContain(pii, worker.Output, StringComparison.Ordinal));
        Assert.True(await worker.MetricAsync("analytics_ingest_pii_redacted_total", "kind=\"email\"") >= 2);
    }
}
