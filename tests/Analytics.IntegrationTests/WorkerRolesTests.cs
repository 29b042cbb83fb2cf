using System.Text.Json;
using Analytics.Contracts;
using Analytics.Ingesting;

namespace Analytics.IntegrationTests;

/// <summary>
/// The shipped topology (run-platform.sh, docker-compose): one worker process that only ingests and one that only
/// runs the projection daemon (projections, triage, alerts).
/// </summary>
public sealed class WorkerRolesTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private TestPlatform _platform = null!;

    public async Task InitializeAsync() => _platform = await TestPlatform.CreateAsync();

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task An_ingest_only_worker_and_a_projection_only_worker_together_store_and_project_every_event()
    {
        // As the platform runs it: the app role, the owner only for migrations, the worker's RabbitMQ user.
        var projectorSettings = _platform.HostSettings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);
        projectorSettings["Ingestion__Enabled"] = "false";
        await using var projector = WorkerProcess.Start(_platform.AppConnectionString, _platform.WorkerAmqpUri, projectorSettings);
        var ingester = await _platform.StartWorkerAsync(new Dictionary<string, string>
        {
            ["Projections__RunDaemon"] = "false",
            ["Alerts__Enabled"] = "false",
        });
        using var http = new HttpClient();
        await projector.WaitUntilListeningAsync(Timeout);
        await TestEnvironment.WaitUntilAsync(async () => !projector.IsRunning || await IsHealthyAsync(http, projector), Timeout,
            () => Task.FromResult($"the projection worker did not become healthy:\n{projector.Output}"));
        Assert.True(projector.IsRunning, projector.Output);

        var events = TestConversations.Generate(40); // 40 conversations, 160 events, 40 ratings
        await using (var channel = await _platform.OpenChannelAsync())
        {
            foreach (var batch in events.Chunk(20))
            {
                await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(batch)));
            }
        }

        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.StoredEventCountAsync() >= events.Count && await _platform.ProjectionCaughtUpAsync(), Timeout,
            async () => $"stored {await _platform.StoredEventCountAsync()} of {events.Count}\nprojector:\n{projector.Output}\ningester:\n{ingester.Output}");
        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout);

        // Only the ingester consumes; only the projector projects (the ingester has no daemon to do it).
        Assert.Equal(1u, await _platform.ConsumerCountAsync(IngestionTopology.Queue));
        Assert.Equal(events.Count, (int)await ingester.MetricAsync("analytics_ingest_events_stored_total"));
        // The projector answers /metrics and has never stored an event (a counter appears at its first increment).
        Assert.Null(await projector.OptionalMetricAsync("analytics_ingest_events_stored_total"));
        Assert.True(await projector.MetricAsync("analytics_projection_lag_events") == 0, "the projector reports its (caught-up) projection lag");
        Assert.Equal(40 * 2, await _platform.ScalarAsync<long>("select count(*) from analytics.sat_responses"));
        Assert.Equal(40, await _platform.ScalarAsync<long>("select coalesce(sum(rated), 0)::bigint from analytics.sat_cell_totals where capability = '*'"));
    }

    private static async Task<bool> IsHealthyAsync(HttpClient http, WorkerProcess worker)
    {
        try
        {
            return (await http.GetAsync($"http://127.0.0.1:{worker.Port}/health")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
