using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Analytics.Satisfaction;
using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Alerting;

/// <summary>
/// Runs the <see cref="RegressionDetector"/> in the worker: once a minute it reads the hourly counters of the
/// trailing window (analytics.sat_cell_totals), and stores each alert raised or resolved as an event in the cell's
/// alert stream, together with its outbox rows, in one transaction. One worker detects at a time (a PostgreSQL
/// advisory lock); the others wait and take over if it dies. After a restart the active alerts are restored from
/// analytics.alerts, and evidence builds up anew from the counters as they stand.
/// </summary>
public sealed partial class RegressionWatch(
    NpgsqlDataSource dataSource,
    IDocumentStore store,
    IOptions<AlertingOptions> options,
    AlertMetrics metrics,
    TimeProvider time,
    ILogger<RegressionWatch> logger) : BackgroundService
{
    /// <summary>The advisory lock key of the detector's leader ("analytics regression watch").</summary>
    private const long LeaderLockKey = 0x616c657274_01;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(0.1, options.Value.IntervalSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var leader = await dataSource.OpenConnectionAsync(stoppingToken);
                while (!await TryLeadAsync(leader, stoppingToken))
                {
                    await Task.Delay(interval, time, stoppingToken);
                }

                var detector = new RegressionDetector(options.Value.Detector);
                await RestoreActiveAlertsAsync(detector, stoppingToken);
                LogLeading(logger, detector.ActiveAlerts.Count);
                using var timer = new PeriodicTimer(interval, time);
                do
                {
                    // The lock lives as long as its connection: if that connection died (a database restart), another
                    // worker may lead by now, so stop here and compete again.
                    await using (var alive = new NpgsqlCommand("select 1", leader))
                    {
                        await alive.ExecuteScalarAsync(stoppingToken);
                    }

                    await LookAsync(detector, stoppingToken);
                }
                while (await timer.WaitForNextTickAsync(stoppingToken));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogLookFailed(logger, ex);
                await Task.Delay(interval, time, stoppingToken);
            }
        }
    }

    /// <summary>The stream of a cell's alerts: a name-based id, the same in every process.</summary>
    public static Guid StreamIdOf(CellKey cell) =>
        new(MD5.HashData(Encoding.UTF8.GetBytes($"regression-alerts|{cell.ModelId}|{cell.ModelVersion}|{cell.Capability}")));

    private static async Task<bool> TryLeadAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("select pg_try_advisory_lock($1)", connection);
        command.Parameters.Add(new() { Value = LeaderLockKey });
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    private async Task RestoreActiveAlertsAsync(RegressionDetector detector, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"select alert_id, model_id, model_version, capability, detected_evidence::text from {AlertsProjection.Alerts} where state = 'active'");
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var evidence = JsonSerializer.Deserialize<RegressionEvidence>(reader.GetString(4), AlertsProjection.Json)!;
            detector.Restore(new CellKey(reader.GetString(1), reader.GetString(2), reader.GetString(3)), reader.GetGuid(0), evidence);
        }
    }

    private async Task LookAsync(RegressionDetector detector, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var counts = await ReadCountsAsync(detector.Options.BaselineWindow + TimeSpan.FromHours(1), now, ct);
        var transitions = detector.Look(now, counts);
        metrics.Observe(detector);
        if (transitions.Count == 0)
        {
            return;
        }

        await using var session = store.LightweightSession();
        foreach (var transition in transitions)
        {
            var streamId = StreamIdOf(transition.Cell);
            object @event = transition switch
            {
                AlertRaised raised => new RegressionDetected(raised.AlertId, raised.Cell, now, raised.Evidence),
                _ => new RegressionResolved(transition.AlertId, transition.Cell, now, transition.Evidence),
            };
            session.Events.Append(streamId, @event);
            var payload = JsonSerializer.Serialize(AlertNotification.From(transition, now, options.Value.ApiBaseUrl), AlertsProjection.Json);
            foreach (var channel in options.Value.Webhooks.Select(w => AlertDeliveries.WebhookChannelPrefix + w.Name).Prepend(AlertDeliveries.RabbitMqChannel))
            {
                session.QueueSqlCommand(
                    $"insert into {AlertDeliveries.Table} (delivery_id, alert_id, channel, payload, created_at, next_attempt_at) values (?, ?, ?, ?::jsonb, now(), now())",
                    Guid.CreateVersion7(), transition.AlertId, channel, payload);
            }
        }

        await session.SaveChangesAsync(ct);
        foreach (var transition in transitions)
        {
            if (transition is AlertRaised)
            {
                metrics.Raised(transition.Cell);
                LogRaised(logger, transition.AlertId, transition.Cell.ToString(), transition.Evidence.WindowDownRate, transition.Evidence.WindowRated,
                    transition.Evidence.BaselineDownRate, transition.Evidence.BaselineRated);
            }
            else
            {
                metrics.Resolved(transition.Cell);
                LogResolved(logger, transition.AlertId, transition.Cell.ToString(), transition.Evidence.WindowDownRate, transition.Evidence.WindowRated);
            }
        }
    }

    /// <summary>
    /// The hourly counters of the trailing window, ending at the latest hour with data but never after the current hour:
    /// an occurredAt ahead of the clock (a producer's fast clock, within the accepted skew) does not move the window.
    /// Ratings are the thumbs up and down of the cell (those whose response has not arrived included).
    /// </summary>
    private async Task<List<HourlyCellCount>> ReadCountsAsync(TimeSpan window, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select hour, model_id, model_version, capability, up + down, down from {SatisfactionProjection.CellTotals}
            where hour >= least((select max(hour) from {SatisfactionProjection.CellTotals}), $2) - $1
            """);
        command.Parameters.Add(new() { Value = window });
        command.Parameters.Add(new() { Value = SatisfactionProjection.HourOf(now) });
        var counts = new List<HourlyCellCount>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            counts.Add(new HourlyCellCount(reader.GetFieldValue<DateTimeOffset>(0),
                new CellKey(reader.GetString(1), reader.GetString(2), reader.GetString(3)), reader.GetInt64(4), reader.GetInt64(5)));
        }

        return counts;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Regression watch leading ({Active} active alerts restored)")]
    private static partial void LogLeading(ILogger logger, int active);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Regression {AlertId} on {Cell}: thumbs-down {WindowRate:P1} over {WindowRated} ratings vs baseline {BaselineRate:P1} over {BaselineRated}")]
    private static partial void LogRaised(ILogger logger, Guid alertId, string cell, double windowRate, long windowRated, double baselineRate, long baselineRated);

    [LoggerMessage(Level = LogLevel.Information, Message = "Regression {AlertId} on {Cell} resolved: thumbs-down {WindowRate:P1} over {WindowRated} ratings")]
    private static partial void LogResolved(ILogger logger, Guid alertId, string cell, double windowRate, long windowRated);

    [LoggerMessage(Level = LogLevel.Error, Message = "Regression watch failed; retrying")]
    private static partial void LogLookFailed(ILogger logger, Exception exception);
}
