using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Analytics.Alerting;
using Microsoft.AspNetCore.Mvc.Testing;
using RabbitMQ.Client;

namespace Analytics.IntegrationTests;

/// <summary>
/// The simulator injects a regression into the real stack (broker, worker with its detector, PostgreSQL): the alert
/// appears in the API, on the RabbitMQ alert exchange and at a webhook receiver, with its evidence; it can be
/// acknowledged once, by a triager; when the cell recovers, the alert resolves and that is delivered too. A webhook
/// receiver that is down delays only itself: it gets the alert once it is up.
/// </summary>
public sealed class RegressionAlertTests : ApiPlatformTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly CellKey Cell = new("atlas", "2026-11", "browsing");
    private const int EventsPerMessage = 200;

    [Fact]
    public async Task An_injected_regression_is_alerted_everywhere_with_its_evidence_and_resolves_after_recovery()
    {
        await using var webhook = await AlertWebhookReceiver.StartAsync();
        // The "late" receiver is down (503) until the test brings it up.
        await using var late = await AlertWebhookReceiver.StartAsync(down: true);
        var settings = TestAlertSettings.For(deliveryIntervalSeconds: 0.2, ("test", webhook.Url), ("late", late.Url));
        settings["Alerts__MaxRetryDelaySeconds"] = "1";
        var worker = await _platform.StartWorkerAsync(settings);

        // Subscribe to the alert exchange the way another service would.
        await using var channel = await _platform.OpenAdminChannelAsync();
        var queue = await AlertSubscriberQueue.DeclareAsync(channel);

        // Phase 1: atlas 2026-11 loses 50 points of satisfaction on browsing; atlas 2026-10 (the baseline) does not.
        await _platform.PublishInBatchesAsync(AlertTraffic.Regressed(seed: 7, Start, Cell).Take(12_000), EventsPerMessage);

        using var viewer = ApiClients.Viewer(_api);
        AlertView? alert = null;
        await TestEnvironment.WaitUntilAsync(async () =>
            {
                var active = await viewer.GetFromJsonAsync<List<AlertView>>("/api/alerts?state=active&model=atlas&capability=browsing", Json);
                alert = active!.FirstOrDefault(a => a.ModelVersion == "2026-11");
                return alert is not null;
            }, Timeout,
            async () => $"no alert for atlas 2026-11 × browsing. Alerts: {await viewer.GetStringAsync("/api/alerts")}\nWorker:\n{worker.Output}");

        Assert.Equal(BaselineKinds.PreviousVersion, alert!.Evidence.BaselineKind);
        Assert.Equal("2026-10", alert.Evidence.BaselineVersion);
        Assert.True(alert.Evidence.BaselineRated >= 50);
        Assert.True(alert.Evidence.WindowRated >= 20);
        Assert.True(alert.Evidence.WindowDownRate > alert.Evidence.BaselineDownRate + 0.2,
            $"window {alert.Evidence.WindowDownRate} vs baseline {alert.Evidence.BaselineDownRate}");
        Assert.True(alert.Evidence.WindowLower > alert.Evidence.BaselineUpper, "the intervals do not overlap");
        Assert.True(alert.Evidence.Statistic >= alert.Evidence.Threshold);
        Assert.True(alert.Evidence.PValue < 0.01);

        var published = await NextAlertMessageAsync(channel, queue, alert.AlertId, AlertNotification.DetectedType);
        Assert.Equal("atlas", published.GetProperty("modelId").GetString());
        Assert.Equal("browsing", published.GetProperty("capability").GetString());
        Assert.Equal(alert.Evidence.WindowRated, published.GetProperty("evidence").GetProperty("windowRated").GetInt64());
        var posted = await WebhookBodyAsync(webhook.Bodies, alert.AlertId, AlertNotification.DetectedType);
        Assert.StartsWith("Regression: atlas@2026-11 × browsing", posted.GetProperty("text").GetString());
        Assert.Equal(1, await worker.MetricAsync("analytics_alerts_active", "capability=\"browsing\",model=\"atlas\",version=\"2026-11\""));

        // The "late" receiver is down (503): its delivery failed and waits for a retry; the others were not held up by it.
        await TestEnvironment.WaitUntilAsync(async () => await _platform.ScalarAsync<long>(
                $"select count(*) from analytics.alert_deliveries where channel = 'webhook:late' and delivered_at is null and attempts > 0 and last_error is not null and alert_id = '{alert.AlertId}'") == 1,
            Timeout, () => Task.FromResult("no failed delivery to the late webhook recorded"));
        Assert.True(await worker.MetricAsync("analytics_alerts_deliveries_total", "outcome=\"failed\"") > 0);
        late.BringUp();
        await WebhookBodyAsync(late.Bodies, alert.AlertId, AlertNotification.DetectedType);

        // Acknowledging needs the triager role, and happens once.
        using var anonymous = _api.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync($"/api/alerts/{alert.AlertId}/acknowledge", new { note = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/alerts/{alert.AlertId}/acknowledge", new { note = "x" })).StatusCode);
        using var triager = ApiClients.WithKey(_api, "local-dev-triager-key");
        var acknowledged = await triager.PostAsJsonAsync($"/api/alerts/{alert.AlertId}/acknowledge", new { note = "looking at the browsing tool" });
        Assert.Equal(HttpStatusCode.OK, acknowledged.StatusCode);
        var detail = (await acknowledged.Content.ReadFromJsonAsync<AlertDetail>(Json))!;
        Assert.Equal("dev-triager", detail.Alert.AcknowledgedBy);
        Assert.Equal(["regression_detected", "regression_acknowledged"], detail.History.Select(h => h.Type));
        var again = await triager.PostAsJsonAsync($"/api/alerts/{alert.AlertId}/acknowledge", new { note = "me too" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("dev-triager", await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await triager.PostAsJsonAsync($"/api/alerts/{Guid.NewGuid()}/acknowledge", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await viewer.GetAsync("/api/alerts?state=sometimes")).StatusCode);

        // Phase 2: the same traffic without the regression, later: the alert resolves.
        await _platform.PublishInBatchesAsync(AlertTraffic.Healthy(seed: 8, Start.AddHours(3)).Take(30_000), EventsPerMessage);
        AlertDetail? resolved = null;
        await TestEnvironment.WaitUntilAsync(async () =>
            {
                resolved = await viewer.GetFromJsonAsync<AlertDetail>($"/api/alerts/{alert.AlertId}", Json);
                return resolved!.Alert.State == "resolved";
            }, Timeout,
            async () => $"alert not resolved: {await viewer.GetStringAsync($"/api/alerts/{alert.AlertId}")}\nWorker:\n{worker.Output}");

        Assert.NotNull(resolved!.Alert.ResolvedEvidence);
        Assert.True(resolved.Alert.ResolvedEvidence!.WindowDownRate < alert.Evidence.WindowDownRate);
        Assert.Equal(["regression_detected", "regression_acknowledged", "regression_resolved"], resolved.History.Select(h => h.Type));
        await NextAlertMessageAsync(channel, queue, alert.AlertId, AlertNotification.ResolvedType);
        Assert.StartsWith("Resolved:", (await WebhookBodyAsync(webhook.Bodies, alert.AlertId, AlertNotification.ResolvedType)).GetProperty("text").GetString());
        await TestEnvironment.WaitUntilAsync(
            async () => await worker.MetricAsync("analytics_alerts_active", "capability=\"browsing\",model=\"atlas\",version=\"2026-11\"") == 0,
            Timeout, () => Task.FromResult("the active gauge did not go back to 0"));
    }

    /// <summary>Reads the subscriber queue until the notification of this alert and type arrives.</summary>
    private static async Task<JsonElement> NextAlertMessageAsync(IChannel channel, string queue, Guid alertId, string type)
    {
        JsonElement? found = null;
        await TestEnvironment.WaitUntilAsync(async () =>
            {
                while (await channel.BasicGetAsync(queue, autoAck: true) is { } message)
                {
                    var body = JsonSerializer.Deserialize<JsonElement>(Encoding.UTF8.GetString(message.Body.Span));
                    if (message.RoutingKey == type && body.GetProperty("alertId").GetGuid() == alertId && body.GetProperty("type").GetString() == type)
                    {
                        found = body;
                        return true;
                    }
                }

                return false;
            }, Timeout, () => Task.FromResult($"no {type} message for {alertId} on the alert exchange"));
        return found!.Value;
    }

    private static async Task<JsonElement> WebhookBodyAsync(ConcurrentQueue<JsonElement> bodies, Guid alertId, string type)
    {
        JsonElement? found = null;
        await TestEnvironment.WaitUntilAsync(() =>
            {
                found = bodies.Cast<JsonElement?>().FirstOrDefault(b =>
                    b!.Value.GetProperty("alert").GetProperty("alertId").GetGuid() == alertId && b.Value.GetProperty("alert").GetProperty("type").GetString() == type);
                return Task.FromResult(found is not null);
            }, Timeout, () => Task.FromResult($"the webhook received no {type} for {alertId}; it got {bodies.Count} bodies"));
        return found!.Value;
    }
}
