using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Alerting;

/// <summary>
/// Delivers the alert outbox (<see cref="AlertDeliveries"/>): publishes each notification to the <c>analytics.alerts</c>
/// topic exchange and posts it to the configured webhooks.
/// <list type="bullet">
/// <item>Each channel has a sender of its own, so a slow or failing target delays only itself.</item>
/// <item>A sender claims a row with a lease (one committed <c>update … for update skip locked … returning</c>), sends with
/// no transaction or row lock open, and records the outcome in a second statement. A sender that dies leaves the lease
/// to expire; the row is then claimed again. Several workers deliver side by side without sending one row twice, unless
/// a send outlives its lease (<c>Alerts:DeliveryLeaseSeconds</c> exceeds the send timeout, so only a stalled process).</item>
/// <item>A failed attempt is retried with exponential backoff (capped); after <c>Alerts:MaxDeliveryAttempts</c> attempts,
/// or at once when its payload cannot be read, the row is dead: it stays in the table with its error, the API lists it
/// (<c>GET /api/alerts/deliveries?state=dead</c>) and <c>analytics_alerts_deliveries_dead</c> counts it.</item>
/// </list>
/// Errors name the failure (an HTTP status, a timeout, an exception type), never a webhook URL: its path carries a token.
/// </summary>
public sealed partial class AlertDelivery(
    NpgsqlDataSource dataSource,
    IBus bus,
    IHttpClientFactory httpClients,
    IOptions<AlertingOptions> options,
    AlertMetrics metrics,
    TimeProvider time,
    ILogger<AlertDelivery> logger) : BackgroundService
{
    public const string HttpClientName = "alert-webhooks";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(0.1, options.Value.DeliveryIntervalSeconds));
        var senders = new Dictionary<string, Task>(StringComparer.Ordinal);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    foreach (var done in senders.Where(s => s.Value.IsCompleted).Select(s => s.Key).ToList())
                    {
                        senders.Remove(done);
                    }

                    foreach (var channel in await DueChannelsAsync(stoppingToken))
                    {
                        if (!senders.ContainsKey(channel))
                        {
                            senders[channel] = Task.Run(() => DrainChannelAsync(channel, stoppingToken), CancellationToken.None);
                        }
                    }

                    await CountDeadAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogDeliveryLoopFailed(logger, ex);
                }

                await Task.Delay(interval, time, stoppingToken);
            }
        }
        finally
        {
            await Task.WhenAll(senders.Values);
        }
    }

    /// <summary>Delivers the due rows of one channel, one after the other, until none is due.</summary>
    private async Task DrainChannelAsync(string channel, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested && await DeliverNextAsync(channel, ct))
            {
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogChannelFailed(logger, channel, ex);
        }
        catch (OperationCanceledException)
        {
            // Stopping: a claimed row's lease expires and another sender takes it.
        }
    }

    /// <summary>The channels with a row due now (not delivered, not dead, not leased, its backoff over).</summary>
    private async Task<IReadOnlyList<string>> DueChannelsAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select distinct channel from {AlertDeliveries.Table}
            where delivered_at is null and dead_at is null and next_attempt_at <= now() and (leased_until is null or leased_until <= now())
            """);
        var channels = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            channels.Add(reader.GetString(0));
        }

        return channels;
    }

    /// <summary>Refreshes the dead-deliveries gauge: every configured channel (0 when none is dead) and any other with dead rows.</summary>
    private async Task CountDeadAsync(CancellationToken ct)
    {
        var counts = options.Value.Webhooks.Select(w => AlertDeliveries.WebhookChannelPrefix + w.Name).Prepend(AlertDeliveries.RabbitMqChannel)
            .ToDictionary(c => c, _ => 0L, StringComparer.Ordinal);
        await using var command = dataSource.CreateCommand($"select channel, count(*) from {AlertDeliveries.Table} where dead_at is not null group by channel");
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        metrics.DeadDeliveries(counts);
    }

    /// <summary>Claims one due row of <paramref name="channel"/>, sends it and records the outcome; false when none is due.</summary>
    public async Task<bool> DeliverNextAsync(string channel, CancellationToken ct)
    {
        var settings = options.Value;
        var lease = TimeSpan.FromSeconds(settings.DeliveryLeaseSeconds);

        // The claim commits on its own (one statement): no transaction or row lock is open while the row is sent.
        Guid id;
        Guid alertId;
        string payload;
        int attempt;
        await using (var claim = dataSource.CreateCommand(
            $"""
            update {AlertDeliveries.Table} d set attempts = d.attempts + 1, leased_until = now() + $2
            from (
                select delivery_id from {AlertDeliveries.Table}
                where channel = $1 and delivered_at is null and dead_at is null and next_attempt_at <= now()
                    and (leased_until is null or leased_until <= now())
                order by next_attempt_at, created_at, delivery_id limit 1 for update skip locked) due
            where d.delivery_id = due.delivery_id
            returning d.delivery_id, d.alert_id, d.payload::text, d.attempts
            """))
        {
            claim.Parameters.Add(new NpgsqlParameter { Value = channel });
            claim.Parameters.Add(new NpgsqlParameter { Value = lease });
            await using var reader = await claim.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return false;
            }

            (id, alertId, payload, attempt) = (reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt32(3));
        }

        var kind = channel.StartsWith(AlertDeliveries.WebhookChannelPrefix, StringComparison.Ordinal) ? "webhook" : channel;
        var (notification, unreadable) = Read(payload);
        var error = unreadable ?? await SendAsync(channel, notification!, ct);
        var dead = unreadable is not null || (error is not null && attempt >= settings.MaxDeliveryAttempts);
        var backoff = TimeSpan.FromSeconds(Math.Min(settings.MaxRetryDelaySeconds, Math.Pow(2, attempt - 1)));

        // The outcome, in a second statement: only while the row is still this sender's claim (no other sender claimed
        // it after the lease expired: attempts unchanged).
        await using var record = dataSource.CreateCommand(
            $"""
            update {AlertDeliveries.Table} set leased_until = null, last_error = $3,
                delivered_at = case when $3::text is null then now() end,
                dead_at = case when $4 then now() end,
                next_attempt_at = case when $3::text is null or $4 then next_attempt_at else now() + $5 end
            where delivery_id = $1 and attempts = $2 and delivered_at is null and dead_at is null
            """);
        record.Parameters.Add(new NpgsqlParameter { Value = id });
        record.Parameters.Add(new NpgsqlParameter { Value = attempt });
        record.Parameters.Add(new NpgsqlParameter { Value = (object?)error ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        record.Parameters.Add(new NpgsqlParameter { Value = dead });
        record.Parameters.Add(new NpgsqlParameter { Value = backoff });
        // The send is done: record its outcome even when the worker is stopping.
        if (await record.ExecuteNonQueryAsync(CancellationToken.None) == 0)
        {
            LogLeaseLost(logger, alertId, channel, attempt);
            return true;
        }

        metrics.Delivery(kind, error is null ? "delivered" : dead ? "dead" : "failed");
        if (dead)
        {
            LogDeliveryDead(logger, alertId, channel, attempt, error!);
        }
        else if (error is not null)
        {
            LogDeliveryFailed(logger, alertId, channel, attempt, backoff.TotalSeconds, error);
        }

        return true;
    }

    /// <summary>The notification of a payload, or why it cannot be read (the JSON path, never the text: no content in the error).</summary>
    private static (AlertNotification? Notification, string? Error) Read(string payload)
    {
        AlertNotification? notification;
        try
        {
            notification = JsonSerializer.Deserialize<AlertNotification>(payload, AlertsProjection.Json);
        }
        catch (JsonException ex)
        {
            return (null, $"unreadable payload: {nameof(JsonException)} at {ex.Path ?? "$"}");
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return (null, $"unreadable payload: {ex.GetType().Name}");
        }

        return notification is { Type: AlertNotification.DetectedType or AlertNotification.ResolvedType, Summary: not null, Evidence: not null }
            && notification.AlertId != Guid.Empty
            ? (notification, null)
            : (null, "unreadable payload: not an alert notification (type, alertId, summary or evidence missing or unknown)");
    }

    /// <summary>Sends one notification within the send timeout; null when it was delivered, else why not.</summary>
    private async Task<string?> SendAsync(string channel, AlertNotification notification, CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(options.Value.DeliveryTimeoutSeconds);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(timeout);
        try
        {
            if (channel == AlertDeliveries.RabbitMqChannel)
            {
                var endpoint = await bus.GetSendEndpoint(new Uri($"exchange:{AlertNotification.Exchange}?type=topic&durable=true"));
                await endpoint.Send(notification, send =>
                {
                    send.Serializer = send.Serialization.GetMessageSerializer(new System.Net.Mime.ContentType("application/json"));
                    send.Durable = true;
                    send.SetRoutingKey(notification.Type);
                }, attempt.Token);
                return null;
            }

            var name = channel[AlertDeliveries.WebhookChannelPrefix.Length..];
            if (options.Value.Webhooks.FirstOrDefault(w => w.Name == name) is not { } webhook)
            {
                return $"webhook '{name}' is no longer configured (Alerts:Webhooks)";
            }

            using var response = await httpClients.CreateClient(HttpClientName)
                .PostAsJsonAsync(webhook.Url, new WebhookBody(notification.Summary, notification), AlertsProjection.Json, attempt.Token);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} ({response.StatusCode})";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"no answer within {timeout.TotalSeconds:0.#} s";
        }
        catch (HttpRequestException ex)
        {
            return $"{nameof(HttpRequestException)}: {ex.HttpRequestError}";
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // The type only: an exception's message may quote what it was given (an address).
            return ex.GetType().Name;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId} not delivered to {Channel} (attempt {Attempt}); retrying in {DelaySeconds} s: {Error}")]
    private static partial void LogDeliveryFailed(ILogger logger, Guid alertId, string channel, int attempt, double delaySeconds, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {AlertId} to {Channel} is dead after attempt {Attempt}, not retried (GET /api/alerts/deliveries?state=dead): {Error}")]
    private static partial void LogDeliveryDead(ILogger logger, Guid alertId, string channel, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId} to {Channel}: the lease of attempt {Attempt} expired before its outcome was recorded; another sender has the row")]
    private static partial void LogLeaseLost(ILogger logger, Guid alertId, string channel, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert delivery to {Channel} failed; retrying at the next poll")]
    private static partial void LogChannelFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert delivery loop failed; retrying")]
    private static partial void LogDeliveryLoopFailed(ILogger logger, Exception exception);
}
