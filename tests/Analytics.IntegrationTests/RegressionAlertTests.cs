using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Analytics.Alerting;
using Analytics.Contracts;
using Analytics.Simulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
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
    private readonly ConcurrentQueue<JsonElement> _webhookBodies = new();
    private readonly ConcurrentQueue<JsonElement> _lateWebhookBodies = new();
    private WebApplication _webhook = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();

        _webhook = Receiver("http://127.0.0.1:0", _webhookBodies);
        await _webhook.StartAsync();
    }

    private static WebApplication Receiver(string url, ConcurrentQueue<JsonElement> bodies)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            bodies.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
            return Results.Ok();
        });
        return receiver;
    }

    /// <summary>A receiver bound to a port of its own (port 0) that answers 503 until <paramref name="up"/> is set: down, then up.</summary>
    private static WebApplication FlakyReceiver(ConcurrentQueue<JsonElement> bodies, TaskCompletionSource up)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            if (!up.Task.IsCompleted)
            {
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }

            bodies.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
            return Results.Ok();
        });
        return receiver;
    }

    public override async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task An_injected_regression_is_alerted_everywhere_with_its_evidence_and_resolves_after_recovery()
    {
        var webhookUrl = _webhook.Urls.Single() + "/hook";
        var lateUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var late = FlakyReceiver(_lateWebhookBodies, lateUp);
        await late.StartAsync();
        var worker = await _platform.StartWorkerAsync(new Dictionary<string, string>
        {
            ["Alerts:IntervalSeconds"] = "1",
            ["Alerts:DeliveryIntervalSeconds"] = "0.2",
            ["Alerts:Webhooks:0:Name"] = "test",
            ["Alerts:Webhooks:0:Url"] = webhookUrl,
            ["Alerts:Webhooks:1:Name"] = "late",
            ["Alerts:Webhooks:1:Url"] = late.Urls.Single() + "/hook",
            ["Alerts:MaxRetryDelaySeconds"] = "1",
            // A test-sized cell: fewer ratings before a baseline is trusted, a larger shift, independent ratings.
            ["Alerts:Detector:MinimumBaselineRatings"] = "50",
            ["Alerts:Detector:MinimumWindowRatings"] = "20",
            ["Alerts:Detector:Shift"] = "0.1",
            ["Alerts:Detector:MaximumDispersion"] = "1",
        });

        // Subscribe to the alert exchange the way another service would.
        await using var channel = await _platform.OpenAdminChannelAsync();
        await channel.ExchangeDeclareAsync(AlertNotification.Exchange, ExchangeType.Topic, durable: true);
        var queue = (await channel.QueueDeclareAsync("alerts-subscriber", durable: true, exclusive: false, autoDelete: false)).QueueName;
        await channel.QueueBindAsync(queue, AlertNotification.Exchange, "regression.*");

        // Phase 1: atlas 2026-11 loses 50 points of satisfaction on browsing; atlas 2026-10 (the baseline) does not.
        var regressed = new TrafficModel(new TrafficOptions
        {
            Seed = 7,
            Start = Start,
            VersionsShareRates = true,
            RatingProbability = 1,
            RatingWithdrawProbability = 0,
            RatingFlipProbability = 0,
            InjectRegression = new RegressionInjection("atlas", "browsing", 0.5) { ModelVersion = "2026-11" },
        });
        await PublishAsync(regressed.Generate().Take(12_000));

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
        var posted = await WebhookBodyAsync(_webhookBodies, alert.AlertId, AlertNotification.DetectedType);
        Assert.StartsWith("Regression: atlas@2026-11 × browsing", posted.GetProperty("text").GetString());
        Assert.Equal(1, await worker.MetricAsync("analytics_alerts_active", "capability=\"browsing\",model=\"atlas\",version=\"2026-11\""));

        // The "late" receiver is down (503): its delivery failed and waits for a retry; the others were not held up by it.
        await TestEnvironment.WaitUntilAsync(async () => await _platform.ScalarAsync<long>(
                $"select count(*) from analytics.alert_deliveries where channel = 'webhook:late' and delivered_at is null and attempts > 0 and last_error is not null and alert_id = '{alert.AlertId}'") == 1,
            Timeout, () => Task.FromResult("no failed delivery to the late webhook recorded"));
        Assert.True(await worker.MetricAsync("analytics_alerts_deliveries_total", "outcome=\"failed\"") > 0);
        lateUp.SetResult();
        await WebhookBodyAsync(_lateWebhookBodies, alert.AlertId, AlertNotification.DetectedType);

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
        var recovered = new TrafficModel(new TrafficOptions
        {
            Seed = 8,
            Start = Start.AddHours(3),
            VersionsShareRates = true,
            RatingProbability = 1,
            RatingWithdrawProbability = 0,
            RatingFlipProbability = 0,
        });
        await PublishAsync(recovered.Generate().Take(30_000));
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
        Assert.StartsWith("Resolved:", (await WebhookBodyAsync(_webhookBodies, alert.AlertId, AlertNotification.ResolvedType)).GetProperty("text").GetString());
        await TestEnvironment.WaitUntilAsync(
            async () => await worker.MetricAsync("analytics_alerts_active", "capability=\"browsing\",model=\"atlas\",version=\"2026-11\"") == 0,
            Timeout, () => Task.FromResult("the active gauge did not go back to 0"));
    }

    private async Task PublishAsync(IEnumerable<object> events)
    {
        await using var channel = await _platform.OpenChannelAsync();
        foreach (var chunk in events.Chunk(200))
        {
            await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(chunk)));
        }
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
