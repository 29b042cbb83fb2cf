using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Alerting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// The alert outbox (docs/alerts.md, "Delivery") with the real worker and PostgreSQL, its rows written straight into
/// analytics.alert_deliveries: a row is claimed with a lease and sent with no transaction or row lock open; a row whose
/// payload cannot be read is dead at once and does not hold up the rows behind it; a target that keeps failing is
/// dead after Alerts:MaxDeliveryAttempts, listed by GET /api/alerts/deliveries and counted in
/// analytics_alerts_deliveries_dead; a slow target does not delay another; a lease left by a sender that died is
/// claimed again once it expires.
/// </summary>
public sealed class AlertOutboxTests : ApiPlatformTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly List<WebApplication> _receivers = [];

    public override async Task DisposeAsync()
    {
        foreach (var receiver in _receivers)
        {
            await receiver.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task An_unreadable_payload_is_dead_with_an_error_that_quotes_none_of_it_and_the_delivery_behind_it_arrives()
    {
        var bodies = new ConcurrentQueue<JsonElement>();
        var hook = await ReceiverAsync(async (request, _) =>
        {
            bodies.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
            return Results.Ok();
        });
        var worker = await StartWorkerAsync(("ops", hook));

        // The unreadable row is due first; its alertId is not a UUID and carries text that must not reach the error.
        var (poison, good) = (Guid.NewGuid(), Guid.NewGuid());
        var alertId = Guid.NewGuid();
        await ExecuteAsync(
            $"insert into {AlertDeliveries.Table} (delivery_id, alert_id, channel, payload, created_at, next_attempt_at) values "
            + "($1, $3, 'webhook:ops', '{\"type\": \"regression.detected\", \"alertId\": \"call me at SECRET-TEXT\"}', now() - interval '2 minutes', now() - interval '1 minute'),"
            + "($2, $3, 'webhook:ops', $4::jsonb, now(), now())",
            poison, good, alertId, Payload(alertId));

        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(bodies.Any(b => b.GetProperty("alert").GetProperty("alertId").GetGuid() == alertId)),
            Timeout, () => Task.FromResult($"the delivery behind the unreadable one never arrived; {bodies.Count} bodies\n{worker.Output}"));
        // The receiver answers before the sender records the outcome: wait for the row to say so.
        Assert.Equal(1, (await WaitForStateAsync(worker, good, AlertDeliveries.States.Delivered)).Attempts);
        var dead = await RowAsync(poison);
        Assert.Equal((AlertDeliveries.States.Dead, 1), (dead.State, dead.Attempts));
        Assert.StartsWith("unreadable payload: JsonException at $.alertId", dead.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET-TEXT", dead.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET-TEXT", worker.Output, StringComparison.Ordinal);

        using var triager = ApiClients.WithKey(_api, "local-dev-triager-key");
        var listed = await triager.GetFromJsonAsync<List<AlertDeliveryView>>("/api/alerts/deliveries?state=dead", Json);
        Assert.Equal(poison, Assert.Single(listed!).DeliveryId);
        await WaitForMetricAsync(worker, "analytics_alerts_deliveries_dead", "channel=\"webhook:ops\"", 1);
    }

    [Fact]
    public async Task A_target_that_always_fails_is_dead_after_the_maximum_attempts_and_is_listed_and_counted()
    {
        var failingRequests = 0;
        var failing = await ReceiverAsync((_, _) =>
        {
            Interlocked.Increment(ref failingRequests);
            return Task.FromResult(Results.StatusCode(StatusCodes.Status500InternalServerError));
        });
        var bodies = new ConcurrentQueue<JsonElement>();
        var healthy = await ReceiverAsync(async (request, _) =>
        {
            bodies.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
            return Results.Ok();
        });
        var worker = await StartWorkerAsync([("failing", failing), ("healthy", healthy)], new()
        {
            ["Alerts__MaxDeliveryAttempts"] = "3",
        });

        var alertId = Guid.NewGuid();
        var delivery = Guid.NewGuid();
        await InsertAsync(delivery, alertId, "webhook:failing", Payload(alertId));
        var row = await WaitForStateAsync(worker, delivery, AlertDeliveries.States.Dead);
        Assert.Equal(3, row.Attempts);
        Assert.Equal(3, Volatile.Read(ref failingRequests));
        Assert.Equal("HTTP 500 (InternalServerError)", row.LastError);
        Assert.NotNull(row.DeadAt);
        Assert.Null(row.DeliveredAt);

        // A later delivery to another target goes through the whole loop; the dead one gets no fourth attempt meanwhile.
        var later = Guid.NewGuid();
        await InsertAsync(Guid.NewGuid(), later, "webhook:healthy", Payload(later));
        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(bodies.Any(b => b.GetProperty("alert").GetProperty("alertId").GetGuid() == later)),
            Timeout, () => Task.FromResult($"the healthy target got nothing\n{worker.Output}"));
        Assert.Equal(3, Volatile.Read(ref failingRequests));
        Assert.Equal(3, (await RowAsync(delivery)).Attempts);

        using var triager = ApiClients.WithKey(_api, "local-dev-triager-key");
        var dead = Assert.Single((await triager.GetFromJsonAsync<List<AlertDeliveryView>>("/api/alerts/deliveries?state=dead", Json))!);
        Assert.Equal((delivery, alertId, "webhook:failing", "dead", 3, "HTTP 500 (InternalServerError)"),
            (dead.DeliveryId, dead.AlertId, dead.Channel, dead.State, dead.Attempts, dead.LastError));
        var ofAlert = await triager.GetFromJsonAsync<List<AlertDeliveryView>>($"/api/alerts/deliveries?alertId={later}&state=delivered", Json);
        Assert.Equal("webhook:healthy", Assert.Single(ofAlert!).Channel);
        Assert.Empty((await triager.GetFromJsonAsync<List<AlertDeliveryView>>("/api/alerts/deliveries?state=pending", Json))!);
        using var viewer = ApiClients.Viewer(_api);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/alerts/deliveries?state=dead")).StatusCode);
        var badState = await triager.GetAsync("/api/alerts/deliveries?state=gone");
        Assert.Equal(HttpStatusCode.BadRequest, badState.StatusCode);
        Assert.Contains("pending, delivered, dead or all", await badState.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await WaitForMetricAsync(worker, "analytics_alerts_deliveries_dead", "channel=\"webhook:failing\"", 1);
        Assert.Equal(0, await worker.MetricAsync("analytics_alerts_deliveries_dead", "channel=\"webhook:healthy\""));
        Assert.Equal(1, await worker.MetricAsync("analytics_alerts_deliveries_total", "outcome=\"dead\""));
        Assert.Equal(2, await worker.MetricAsync("analytics_alerts_deliveries_total", "outcome=\"failed\""));
    }

    [Fact]
    public async Task A_slow_target_holds_no_lock_and_does_not_delay_a_healthy_one()
    {
        var healthyArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowHolding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowRequests = 0;
        // The slow target answers only once the healthy one has its notification (or when the sender gives up).
        var slow = await ReceiverAsync(async (_, aborted) =>
        {
            Interlocked.Increment(ref slowRequests);
            slowHolding.TrySetResult();
            await healthyArrived.Task.WaitAsync(aborted);
            return Results.Ok();
        });
        var healthy = await ReceiverAsync((_, _) =>
        {
            healthyArrived.TrySetResult();
            return Task.FromResult(Results.Ok());
        });
        var worker = await StartWorkerAsync([("slow", slow), ("healthy", healthy)], new()
        {
            ["Alerts__DeliveryTimeoutSeconds"] = "90",
            ["Alerts__DeliveryLeaseSeconds"] = "120",
        });

        // The slow target's row is due first and is claimed first; the healthy one is inserted once it is being sent.
        var (slowAlert, healthyAlert) = (Guid.NewGuid(), Guid.NewGuid());
        var (slowDelivery, healthyDelivery) = (Guid.NewGuid(), Guid.NewGuid());
        await InsertAsync(slowDelivery, slowAlert, "webhook:slow", Payload(slowAlert));
        await slowHolding.Task.WaitAsync(Timeout);

        // While the webhook call is open, its row is leased but neither locked nor inside an open transaction.
        var held = await RowAsync(slowDelivery);
        Assert.Equal(AlertDeliveries.States.Pending, held.State);
        Assert.True(held.LeasedUntil > DateTimeOffset.UtcNow.AddSeconds(30), $"leased until {held.LeasedUntil}");
        await using (var connection = new NpgsqlConnection(_platform.ConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var lockRow = new NpgsqlCommand($"select attempts from {AlertDeliveries.Table} where delivery_id = $1 for update nowait", connection, transaction);
            lockRow.Parameters.Add(new NpgsqlParameter { Value = slowDelivery });
            Assert.Equal(1, await lockRow.ExecuteScalarAsync()); // 55P03 (lock_not_available) if a sender held the row
            await transaction.RollbackAsync();
        }

        // Nobody else holds the table for writing: no claim or outcome statement stays open during the call.
        var writers = await _platform.ScalarAsync<long>(
            $"select count(*) from pg_locks where relation = '{AlertDeliveries.Table}'::regclass and mode in ('RowShareLock', 'RowExclusiveLock') and pid <> pg_backend_pid()");
        Assert.Equal(0, writers);

        await InsertAsync(healthyDelivery, healthyAlert, "webhook:healthy", Payload(healthyAlert));
        await healthyArrived.Task.WaitAsync(Timeout);

        // Delivered on its first attempt: the slow call was still open when the healthy target got its notification.
        var delivered = await WaitForStateAsync(worker, slowDelivery, AlertDeliveries.States.Delivered);
        Assert.Equal(1, delivered.Attempts);
        Assert.Equal(1, Volatile.Read(ref slowRequests));
        Assert.Null(delivered.LeasedUntil);
        Assert.Equal(1, (await WaitForStateAsync(worker, healthyDelivery, AlertDeliveries.States.Delivered)).Attempts);
    }

    [Fact]
    public async Task A_lease_left_by_a_sender_that_died_is_claimed_again_once_it_expires()
    {
        var bodies = new ConcurrentQueue<JsonElement>();
        var hook = await ReceiverAsync(async (request, _) =>
        {
            bodies.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
            return Results.Ok();
        });
        var worker = await StartWorkerAsync(("ops", hook));

        // A sender claimed the row (attempt 1) and died mid-send: its lease still runs for a few seconds.
        var alertId = Guid.NewGuid();
        var delivery = Guid.NewGuid();
        var leaseEnd = await _platform.ScalarAsync<DateTime>(
            $"insert into {AlertDeliveries.Table} (delivery_id, alert_id, channel, payload, created_at, next_attempt_at, attempts, leased_until) values "
            + $"('{delivery}', '{alertId}', 'webhook:ops', '{Payload(alertId)}', now() - interval '1 minute', now() - interval '1 minute', 1, now() + interval '5 seconds') "
            + "returning leased_until");

        var row = await WaitForStateAsync(worker, delivery, AlertDeliveries.States.Delivered);
        Assert.Equal(2, row.Attempts);
        Assert.True(row.DeliveredAt >= new DateTimeOffset(leaseEnd, TimeSpan.Zero), $"delivered at {row.DeliveredAt:O}, while the lease ran until {leaseEnd:O}");
        Assert.Single(bodies, b => b.GetProperty("alert").GetProperty("alertId").GetGuid() == alertId);
    }

    private async Task<WebApplication> ReceiverAsync(Func<HttpRequest, CancellationToken, Task<IResult>> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var receiver = builder.Build();
        receiver.MapPost("/hook/{token}", (HttpRequest request, CancellationToken aborted) => answer(request, aborted));
        _receivers.Add(receiver);
        await receiver.StartAsync();
        return receiver;
    }

    private Task<WorkerProcess> StartWorkerAsync((string Name, WebApplication Receiver) webhook) => StartWorkerAsync([webhook], []);

    private Task<WorkerProcess> StartWorkerAsync((string Name, WebApplication Receiver)[] webhooks, Dictionary<string, string> more)
    {
        var settings = new Dictionary<string, string>
        {
            ["Alerts__DeliveryIntervalSeconds"] = "0.2",
            ["Alerts__MaxRetryDelaySeconds"] = "0.5",
        };
        for (var i = 0; i < webhooks.Length; i++)
        {
            settings[$"Alerts__Webhooks__{i}__Name"] = webhooks[i].Name;
            settings[$"Alerts__Webhooks__{i}__Url"] = $"{webhooks[i].Receiver.Urls.Single()}/hook/T0KEN-{webhooks[i].Name}";
        }

        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return _platform.StartWorkerAsync(settings);
    }

    private static string Payload(Guid alertId)
    {
        var now = DateTimeOffset.UtcNow;
        var evidence = new RegressionEvidence(BaselineKinds.PreviousVersion, "2026-10", 500, 100, 0.2, 0.17, 0.24, now.AddHours(-1), now, 100, 40, 0.4, 0.31, 0.5,
            12, 10, 0.06, 1, 0.0001);
        return JsonSerializer.Serialize(new AlertNotification(AlertNotification.DetectedType, alertId, now, "atlas", "2026-11", "browsing",
            "Regression: atlas 2026-11 × browsing", evidence, $"http://127.0.0.1:5080/api/alerts/{alertId}"), Json);
    }

    private Task InsertAsync(Guid delivery, Guid alertId, string channel, string payload) => ExecuteAsync(
        $"insert into {AlertDeliveries.Table} (delivery_id, alert_id, channel, payload, created_at, next_attempt_at) values ($1, $2, $3, $4::jsonb, now(), now())",
        delivery, alertId, channel, payload);

    private async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(_platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await command.ExecuteNonQueryAsync();
    }

    private async Task<AlertDeliveryView> RowAsync(Guid delivery)
    {
        await using var connection = new NpgsqlConnection(_platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"""
            select {AlertDeliveries.States.Expression}, attempts, leased_until, delivered_at, dead_at, last_error, alert_id, channel, created_at, next_attempt_at
            from {AlertDeliveries.Table} where delivery_id = $1
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = delivery });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"no outbox row {delivery}");
        return new AlertDeliveryView(delivery, reader.GetGuid(6), reader.GetString(7), reader.GetString(0), reader.GetInt32(1),
            reader.GetFieldValue<DateTimeOffset>(8), reader.GetFieldValue<DateTimeOffset>(9), Optional(reader, 2), Optional(reader, 3), Optional(reader, 4),
            reader.IsDBNull(5) ? null : reader.GetString(5));
    }

    private static DateTimeOffset? Optional(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private async Task<AlertDeliveryView> WaitForStateAsync(WorkerProcess worker, Guid delivery, string state)
    {
        AlertDeliveryView? row = null;
        await TestEnvironment.WaitUntilAsync(async () => (row = await RowAsync(delivery)).State == state, Timeout,
            () => Task.FromResult($"delivery {delivery} is {row?.State} after {row?.Attempts} attempts ({row?.LastError}), not {state}\n{worker.Output}"));
        return row!;
    }

    private static async Task WaitForMetricAsync(WorkerProcess worker, string name, string labels, double expected)
    {
        double? last = null;
        await TestEnvironment.WaitUntilAsync(async () => (last = await worker.OptionalMetricAsync(name, labels)) == expected, Timeout,
            () => Task.FromResult($"{name}{{{labels}}} is {last?.ToString() ?? "absent"}, not {expected}"));
    }
}
