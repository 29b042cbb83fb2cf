using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Analytics.Contracts;
using Analytics.Ingesting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>
/// A producer whose clock runs ahead, through the real broker, worker and API: an occurredAt within the configured
/// skew is stored, one beyond it is refused alone as invalid_field, and the stored one does not move the triage
/// growth window past the current time.
/// </summary>
public sealed class FutureSkewIngestionTests : ApiPlatformTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Events_inside_the_configured_skew_are_stored_those_beyond_it_refused_and_the_triage_window_stays_at_now()
    {
        // Ten minutes (not the default five) shows the setting is read; the margins cover the seconds until receipt.
        var worker = await _platform.StartWorkerAsync(new Dictionary<string, string> { ["Ingestion__MaxFutureSkew"] = "00:10:00" });
        var now = DateTimeOffset.UtcNow;
        var inside = TriageFeedback.ThumbsDown("skew-model", TriageFeedback.EmptyPlot.Take(1), now.AddMinutes(9));
        var beyond = TriageFeedback.ThumbsDown("skew-model", TriageFeedback.EmptyPlot.Skip(1).Take(1), now.AddMinutes(11));
        await TriageFeedback.PublishAsync(_platform, [.. inside, .. beyond]); // one message

        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= beyond.Count
                && await _platform.StoredEventCountAsync() >= inside.Count
                && await TriageFeedback.ClusteredCountAsync(_platform, "skew-model") >= 1,
            Timeout,
            async () => $"refused {await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)}, stored {await _platform.StoredEventCountAsync()}\n{worker.Output}");

        var stored = await _platform.StoredEventsAsync();
        Assert.Equal(inside.Select(TestConversations.EventId).Order(), stored.Keys.Order());
        var refused = await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue);
        Assert.Equal(beyond.Select(TestConversations.EventId).Select(id => id.ToString()).Order(),
            refused.Select(m => Header(m, IngestionTopology.EventIdHeader)).Order());
        Assert.All(refused, m => Assert.Equal(Refusal.Codes.InvalidField, Header(m, IngestionTopology.RefusalCodeHeader)));
        Assert.All(refused, m => Assert.Contains("at most 600 s ahead", Header(m, IngestionTopology.RefusalReasonHeader), StringComparison.Ordinal));
        Assert.Equal(beyond.Count, await worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{Refusal.Codes.InvalidField}\""));

        // The cluster's latest item lies ahead of the clock; the default end of its growth windows does not.
        var client = ApiClients.Viewer(_api);
        var cluster = (await client.GetFromJsonAsync<JsonElement>("/api/triage/clusters?model=skew-model")).EnumerateArray().Single();
        var detail = await client.GetFromJsonAsync<JsonElement>($"/api/triage/clusters/{cluster.GetProperty("clusterId").GetGuid()}");
        var asked = DateTimeOffset.UtcNow;
        var asOf = detail.GetProperty("asOf").GetDateTimeOffset();
        Assert.True(cluster.GetProperty("lastItemAt").GetDateTimeOffset() > asked.AddMinutes(7), $"last item at {cluster.GetProperty("lastItemAt")}");
        Assert.True(asOf <= asked.AddSeconds(1), $"the windows end at {asOf:O}, after {asked:O}");
        Assert.True(asOf > asked.AddMinutes(-2), $"the windows end at {asOf:O}, long before {asked:O}");
    }

    private static string Header(RabbitMQ.Client.BasicGetResult message, string name) =>
        message.BasicProperties.Headers?.TryGetValue(name, out var value) == true
            ? value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                _ => value?.ToString() ?? string.Empty,
            }
            : string.Empty;
}
