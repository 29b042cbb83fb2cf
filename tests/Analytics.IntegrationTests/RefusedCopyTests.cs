using System.Text;
using System.Text.Json.Nodes;
using Analytics.Contracts;
using Analytics.Ingesting;
using Analytics.Redacting;
using RabbitMQ.Client;

namespace Analytics.IntegrationTests;

/// <summary>
/// What the refused queue keeps, through the real worker: by default the redacted copy (comments with personal data
/// replaced, the user id as its keyed pseudonym; header x-refused-copy: redacted); the event as published only with
/// Ingestion:RefusedQueueKeepsOriginal=true (docs/security.md, "Personal data").
/// </summary>
public sealed class RefusedCopyTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private TestPlatform _platform = null!;

    public async Task InitializeAsync() => _platform = await TestPlatform.CreateAsync();

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_refused_queue_keeps_the_redacted_event_unless_the_setting_keeps_the_original(bool keepOriginal)
    {
        var key = "a-test-key-for-refused-copies-" + Guid.NewGuid().ToString("N");
        var worker = await _platform.StartWorkerAsync(new Dictionary<string, string>
        {
            ["Privacy__UserIdKey"] = key,
            ["Ingestion__RefusedQueueKeepsOriginal"] = keepOriginal ? "true" : "false",
        });
        var events = TestConversations.Generate(1);
        var started = JsonNode.Parse(FeedbackJson.ToElement(events.OfType<ConversationStarted>().Single()).GetRawText())!.AsObject();
        started["userId"] = "jane.doe@example.com";
        started["schemaVersion"] = 7; // refused: unsupported_schema_version
        var rated = JsonNode.Parse(FeedbackJson.ToElement(events.OfType<ResponseRated>().First()).GetRawText())!.AsObject();
        rated["rating"] = "dwon";
        rated["comment"] = "wrong again, write to jane.doe@example.com or call +44 20 7946 0958";
        var originals = new[] { started, rated };

        await using (var channel = await _platform.OpenChannelAsync())
        {
            await _platform.PublishRawAsync(channel, new JsonArray(originals.Select(o => (JsonNode)o.DeepClone()).ToArray()).ToJsonString());
        }

        await TestEnvironment.WaitUntilAsync(async () => await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= 2, Timeout,
            async () => $"refused {await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)}\n{worker.Output}");
        var refused = await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue);
        Assert.Equal(2, refused.Count);
        foreach (var original in originals)
        {
            var message = Assert.Single(refused, m => Header(m, IngestionTopology.EventIdHeader) == original["eventId"]!.GetValue<string>());
            Assert.Equal(keepOriginal ? "original" : "redacted", Header(message, IngestionTopology.RefusedCopyHeader));
            var kept = JsonNode.Parse(message.Body.Span)!.AsArray().Single()!.AsObject();
            if (keepOriginal)
            {
                Assert.True(JsonNode.DeepEquals(original, kept), "the original was not kept as published");
                continue;
            }

            Assert.DoesNotContain("jane.doe", Encoding.UTF8.GetString(message.Body.Span), StringComparison.Ordinal);
            Assert.DoesNotContain("7946", Encoding.UTF8.GetString(message.Body.Span), StringComparison.Ordinal);
            Assert.Equal(original.Select(p => p.Key).Order(), kept.Select(p => p.Key).Order());
            foreach (var (name, value) in original)
            {
                var expected = name switch
                {
                    "userId" => new UserIdPseudonyms(key).Pseudonym("jane.doe@example.com"),
                    "comment" => "wrong again, write to [EMAIL] or call [PHONE]",
                    _ => null,
                };
                Assert.True(expected is null ? JsonNode.DeepEquals(value, kept[name]) : expected == kept[name]!.GetValue<string>(),
                    $"{name}: {kept[name]?.ToJsonString()}");
            }
        }
    }

    private static string? Header(BasicGetResult message, string name) =>
        message.BasicProperties.Headers?.TryGetValue(name, out var value) == true
            ? value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : value?.ToString()
            : null;
}
