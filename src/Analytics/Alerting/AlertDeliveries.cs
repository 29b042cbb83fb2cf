using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Conversations;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Weasel.Postgresql.Tables;

namespace Analytics.Alerting;

/// <summary>
/// The alert outbox: a row per alert transition and channel (the RabbitMQ exchange, each configured webhook), written
/// in the same transaction as the alert event, so no alert is lost; <see cref="AlertDelivery"/> delivers them.
/// </summary>
public static class AlertDeliveries
{
    public const string Table = EventStoreRegistration.SchemaName + ".alert_deliveries";
    public const string RabbitMqChannel = "rabbitmq";
    public const string WebhookChannelPrefix = "webhook:";

    public static Table Definition()
    {
        var table = new Table(Table);
        table.AddColumn<Guid>("delivery_id").AsPrimaryKey();
        table.AddColumn<Guid>("alert_id").NotNull();
        table.AddColumn<string>("channel").NotNull();
        table.AddColumn("payload", "jsonb").NotNull();
        table.AddColumn<DateTimeOffset>("created_at").NotNull();
        table.AddColumn<DateTimeOffset>("next_attempt_at").NotNull();
        table.AddColumn<int>("attempts").NotNull().DefaultValueByExpression("0");
        table.AddColumn<DateTimeOffset>("delivered_at");
        table.AddColumn<string>("last_error");
        table.Indexes.Add(new IndexDefinition("ix_alert_deliveries_pending") { Columns = ["next_attempt_at"], Predicate = "delivered_at is null" });
        return table;
    }
}

/// <summary>
/// Delivers the alert outbox: publishes each notification to the <c>analytics.alerts</c> topic exchange and posts it to
/// the configured webhooks. A failed delivery is retried with exponential backoff (capped), each channel on its own,
/// so a receiver that is down delays only itself and never the detector. Rows are claimed with
/// <c>for update skip locked</c>, so several workers can deliver side by side without sending twice.
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
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await DeliverNextAsync(stoppingToken))
                {
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogDeliveryLoopFailed(logger, ex);
            }

            await Task.Delay(interval, time, stoppingToken);
        }
    }

    /// <summary>Delivers one due row; false when none is due.</summary>
    public async Task<bool> DeliverNextAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        Guid id;
        string channel;
        string payload;
        int attempts;
        await using (var claim = new NpgsqlCommand(
            $"""
            select delivery_id, channel, payload::text, attempts from {AlertDeliveries.Table}
            where delivered_at is null and next_attempt_at <= now()
            order by next_attempt_at limit 1 for update skip locked
            """, connection, transaction))
        await using (var reader = await claim.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                return false;
            }

            (id, channel, payload, attempts) = (reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3));
        }

        var notification = JsonSerializer.Deserialize<AlertNotification>(payload, AlertsProjection.Json)!;
        string? error = null;
        try
        {
            await DeliverAsync(channel, notification, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            error = $"{ex.GetType().Name}: {ex.Message}";
        }

        var kind = channel.StartsWith(AlertDeliveries.WebhookChannelPrefix, StringComparison.Ordinal) ? "webhook" : channel;
        metrics.Delivery(kind, error is null);
        var backoff = TimeSpan.FromSeconds(Math.Min(options.Value.MaxRetryDelaySeconds, Math.Pow(2, attempts)));
        await using (var update = new NpgsqlCommand(
            $"""
            update {AlertDeliveries.Table} set attempts = attempts + 1, delivered_at = case when $2 then now() end,
                last_error = $3, next_attempt_at = now() + $4
            where delivery_id = $1
            """, connection, transaction))
        {
            update.Parameters.Add(new() { Value = id });
            update.Parameters.Add(new() { Value = error is null });
            update.Parameters.Add(new() { Value = (object?)error ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            update.Parameters.Add(new() { Value = backoff });
            await update.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        if (error is not null)
        {
            LogDeliveryFailed(logger, notification.AlertId, channel, attempts + 1, backoff.TotalSeconds, error);
        }

        return true;
    }

    private async Task DeliverAsync(string channel, AlertNotification notification, CancellationToken ct)
    {
        if (channel == AlertDeliveries.RabbitMqChannel)
        {
            var endpoint = await bus.GetSendEndpoint(new Uri($"exchange:{AlertNotification.Exchange}?type=topic&durable=true"));
            await endpoint.Send(notification, send =>
            {
                send.Serializer = send.Serialization.GetMessageSerializer(new System.Net.Mime.ContentType("application/json"));
                send.Durable = true;
                send.SetRoutingKey(notification.Type);
            }, ct);
            return;
        }

        var name = channel[AlertDeliveries.WebhookChannelPrefix.Length..];
        var webhook = options.Value.Webhooks.FirstOrDefault(w => w.Name == name)
            ?? throw new InvalidOperationException($"Webhook '{name}' is no longer configured (Alerts:Webhooks).");
        using var response = await httpClients.CreateClient(HttpClientName)
            .PostAsJsonAsync(webhook.Url, new WebhookBody(notification.Summary, notification), AlertsProjection.Json, ct);
        response.EnsureSuccessStatusCode();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId} not delivered to {Channel} (attempt {Attempt}); retrying in {DelaySeconds} s: {Error}")]
    private static partial void LogDeliveryFailed(ILogger logger, Guid alertId, string channel, int attempt, double delaySeconds, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert delivery loop failed; retrying")]
    private static partial void LogDeliveryLoopFailed(ILogger logger, Exception exception);
}
