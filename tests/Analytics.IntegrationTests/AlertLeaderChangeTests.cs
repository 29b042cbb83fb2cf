using System.Text;
using System.Text.Json;
using Analytics.Alerting;
using RabbitMQ.Client;

namespace Analytics.IntegrationTests;

/// <summary>
/// Two workers, each with the detector and the alert delivery switched on, as a scaled-out deployment runs them. Only
/// the leader (advisory lock) detects; when it dies, the other worker takes the lock, restores the active alert from
/// analytics.alerts and resolves it when the cell recovers, without raising it again. Both workers deliver the outbox
/// side by side, and every notification arrives exactly once on each channel.
/// </summary>
public sealed class AlertLeaderChangeTests : WorkerPlatformTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly CellKey Cell = new("atlas", "2026-11", "browsing");
    private const int EventsPerMessage = 200;
    private const string CellLabels = "capability=\"browsing\",model=\"atlas\",version=\"2026-11\"";

    [Fact]
    public async Task A_new_leader_restores_the_active_alert_and_resolves_it_and_nothing_is_delivered_twice()
    {
        await using var webhook = await AlertWebhookReceiver.StartAsync();
        var settings = TestAlertSettings.For(deliveryIntervalSeconds: 0.1, ("test", webhook.Url));
        // "Regression watch leading (N active alerts restored)" names the leader and what it restored.
        settings["Logging__LogLevel__Analytics.Alerting.RegressionWatch"] = "Information";
        var workers = new[] { await _platform.StartWorkerAsync(settings), await _platform.StartWorkerAsync(settings) };
        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(workers.Any(w => w.Output.Contains("Regression watch leading", StringComparison.Ordinal))),
            Timeout, () => Task.FromResult($"no worker leads the regression watch:\n{Outputs(workers)}"));
        var first = Assert.Single(workers, w => w.Output.Contains("Regression watch leading (0 active alerts restored)", StringComparison.Ordinal));
        var second = workers.Single(w => w != first);

        await using var channel = await _platform.OpenAdminChannelAsync();
        var queue = await AlertSubscriberQueue.DeclareAsync(channel);

        // atlas 2026-11 loses 50 points on browsing against 2026-10: the leader raises the alert.
        await _platform.PublishInBatchesAsync(AlertTraffic.Regressed(seed: 17, Start, Cell).Take(12_000), EventsPerMessage);
        await TestEnvironment.WaitUntilAsync(async () => await ActiveAlertsAsync() == 1, Timeout,
            async () => $"no active alert for {Cell}: {await ActiveAlertsAsync()}\n{Outputs(workers)}");
        var alertId = await _platform.ScalarAsync<Guid>($"select alert_id from {AlertsProjection.Alerts} where state = 'active'");
        Assert.Equal(1, await first.MetricAsync("analytics_alerts_raised_total", CellLabels));
        Assert.Equal(1, await first.MetricAsync("analytics_alerts_active", CellLabels));
        // The other worker waits for the lock: it has never looked at a cell.
        Assert.Null(await second.OptionalMetricAsync("analytics_alerts_active"));
        Assert.Null(await second.OptionalMetricAsync("analytics_alerts_raised_total"));
        await WaitUntilEveryDeliveryIsDoneAsync(alertId, 2, workers);
        // Everything published so far is stored and counted: the new leader learns these counters as history.
        await _platform.WaitUntilQuietAsync(Analytics.Ingesting.IngestionTopology.Queue, Timeout);
        await TestEnvironment.WaitUntilAsync(_platform.ProjectionCaughtUpAsync, Timeout, () => Task.FromResult($"the projection did not catch up\n{Outputs(workers)}"));

        // The leader dies; the other worker takes the lock and restores the alert (it did not see it being raised).
        first.Kill();
        await TestEnvironment.WaitUntilAsync(
            () => Task.FromResult(second.Output.Contains("Regression watch leading (1 active alerts restored)", StringComparison.Ordinal)), Timeout,
            () => Task.FromResult($"the second worker did not take over with the alert restored:\n{second.Output}"));
        await TestEnvironment.WaitUntilAsync(async () => await second.OptionalMetricAsync("analytics_alerts_active", CellLabels) == 1, Timeout,
            () => Task.FromResult($"the new leader does not report the restored alert as active:\n{second.Output}"));

        // The cell recovers: the new leader resolves the alert it restored, and raises nothing. Healthy traffic arrives in
        // rounds until the alert resolves (at most five): the recovery statistic grows with every healthy rating, but how
        // much one round adds depends on how the looks cut it (the statistic is floored at zero between looks).
        string? state = null;
        for (var round = 0; round < 5 && state != "resolved"; round++)
        {
            await _platform.PublishInBatchesAsync(AlertTraffic.Healthy(seed: 18 + round, Start.AddHours(3 + (2 * round))).Take(30_000), EventsPerMessage);
            // The projection daemon moved to the new leader too (hot/cold): the counters the detector reads keep up.
            await _platform.WaitUntilQuietAsync(Analytics.Ingesting.IngestionTopology.Queue, Timeout);
            await TestEnvironment.WaitUntilAsync(_platform.ProjectionCaughtUpAsync, Timeout,
                () => Task.FromResult($"the projection did not catch up after the leader change\n{second.Output}"));
            // Up to 30 s of looks (one a second) for the alert to resolve, without failing yet: another round may be needed.
            await TestEnvironment.TryWaitUntilAsync(async () =>
                (state = await _platform.ScalarAsync<string>($"select state from {AlertsProjection.Alerts} where alert_id = '{alertId}'")) == "resolved",
                TimeSpan.FromSeconds(30));
        }

        Assert.True(state == "resolved", $"the restored alert was not resolved after five rounds of healthy traffic: {await ActiveAlertsAsync()} active, "
            + $"statistic {await second.OptionalMetricAsync("analytics_alerts_statistic", CellLabels)}, cell rated by hour: {await CellHoursAsync()}\n{second.Output}");
        Assert.Equal(1, await second.MetricAsync("analytics_alerts_resolved_total", CellLabels));
        // Nothing raised again on the cell. (Other cells are outside this test: the rounds of simulated traffic with the
        // test-sized detector may alert on them, and their notifications are left out below.)
        Assert.Null(await second.OptionalMetricAsync("analytics_alerts_raised_total", CellLabels));
        Assert.Equal(1, await _platform.ScalarAsync<long>($"select count(*) from {AlertsProjection.Alerts} where model_id = '{Cell.ModelId}' "
            + $"and model_version = '{Cell.ModelVersion}' and capability = '{Cell.Capability}'"));
        Assert.Equal(0, await second.MetricAsync("analytics_alerts_active", CellLabels));
        await WaitUntilEveryDeliveryIsDoneAsync(alertId, 4, [second]);

        // Exactly once per channel and transition: the outbox rows, the exchange and the webhook agree.
        Assert.Equal(4, await _platform.ScalarAsync<long>(
            $"select count(*) from {AlertDeliveries.Table} where alert_id = '{alertId}' and delivered_at is not null and attempts = 1"));
        var published = (await DrainAsync(channel, queue)).Where(m => m.GetProperty("alertId").GetGuid() == alertId).ToList();
        Assert.Equal([AlertNotification.DetectedType, AlertNotification.ResolvedType], published.Select(m => m.GetProperty("type").GetString()).Order());
        var posted = webhook.Bodies.Select(b => b.GetProperty("alert")).Where(a => a.GetProperty("alertId").GetGuid() == alertId).ToList();
        Assert.Equal([AlertNotification.DetectedType, AlertNotification.ResolvedType], posted.Select(a => a.GetProperty("type").GetString()).Order());
    }

    private Task<long> ActiveAlertsAsync() =>
        _platform.ScalarAsync<long>($"select count(*) from {AlertsProjection.Alerts} where state = 'active' and model_id = '{Cell.ModelId}' "
            + $"and model_version = '{Cell.ModelVersion}' and capability = '{Cell.Capability}'");

    private async Task<string> CellHoursAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(_platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            $"select string_agg(to_char(hour, 'DD HH24') || ': ' || (up + down) || '/' || down, ', ' order by hour) from analytics.sat_cell_totals "
            + $"where model_id = '{Cell.ModelId}' and model_version = '{Cell.ModelVersion}' and capability = '{Cell.Capability}'", connection);
        return (await command.ExecuteScalarAsync())?.ToString() ?? "none";
    }

    /// <summary>Waits until the outbox holds <paramref name="rows"/> rows of the alert and every one of them is delivered.</summary>
    private async Task WaitUntilEveryDeliveryIsDoneAsync(Guid alertId, long rows, IEnumerable<WorkerProcess> workers)
    {
        var ofAlert = $"from {AlertDeliveries.Table} where alert_id = '{alertId}'";
        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.ScalarAsync<long>($"select count(*) {ofAlert} and delivered_at is not null") == rows
                && await _platform.ScalarAsync<long>($"select count(*) {ofAlert}") == rows,
            Timeout, async () => $"{await _platform.ScalarAsync<long>($"select count(*) {ofAlert} and delivered_at is not null")} of "
                + $"{await _platform.ScalarAsync<long>($"select count(*) {ofAlert}")} deliveries done, {rows} expected\n{Outputs(workers)}");
    }

    private static async Task<List<JsonElement>> DrainAsync(IChannel channel, string queue)
    {
        var messages = new List<JsonElement>();
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } message)
        {
            messages.Add(JsonSerializer.Deserialize<JsonElement>(Encoding.UTF8.GetString(message.Body.Span)));
        }

        return messages;
    }

    private static string Outputs(IEnumerable<WorkerProcess> workers) =>
        string.Join("\n---\n", workers.Select((w, i) => $"worker {i} (running: {w.IsRunning}):\n{w.Output}"));
}
