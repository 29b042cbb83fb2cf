using System.Diagnostics.Metrics;
using Analytics.Alerting;
using Analytics.Conversations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Analytics.Hosting;

/// <summary>
/// Meter Analytics.Projections: how far each async projection is behind the event store and how many events the
/// daemon could not project. Marten's daemon skips an event whose projection throws and records it in
/// mt_doc_deadletterevent; the triage clusterer and the inline alerts projection dead-letter the item that fails there
/// too. Without these gauges that would be silent. Refreshed every few seconds by reading mt_event_progression, mt_events
/// and the dead-letter table. Prometheus: analytics_projection_lag_events, analytics_projection_lag_seconds,
/// analytics_projection_position, analytics_projection_dead_letters (label projection); the alerting rules in
/// infra/prometheus/alerts.yml watch them (docs/operations.md).
/// </summary>
public sealed partial class ProjectionHealth(NpgsqlDataSource dataSource, ILogger<ProjectionHealth> logger) : BackgroundService
{
    public const string MeterName = "Analytics.Projections";

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private readonly Meter _meter = new(MeterName);
    private volatile IReadOnlyList<ProjectionState> _latest = [];

    /// <summary>One projection or subscription: its checkpoint (null for an inline projection, which has none), lag and dead letters.</summary>
    public sealed record ProjectionState(string Projection, long? Position, long LagEvents, double LagSeconds, long DeadLetters);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _meter.CreateObservableGauge("analytics.projection.lag.events",
            () => _latest.Select(p => new Measurement<long>(p.LagEvents, new KeyValuePair<string, object?>("projection", p.Projection))),
            description: "Events stored but not yet processed by the projection");
        _meter.CreateObservableGauge("analytics.projection.lag.seconds",
            () => _latest.Select(p => new Measurement<double>(p.LagSeconds, new KeyValuePair<string, object?>("projection", p.Projection))),
            unit: "s", description: "Age of the oldest event the projection has not processed yet (0 when caught up)");
        _meter.CreateObservableGauge("analytics.projection.position",
            () => _latest.Where(p => p.Position is not null)
                .Select(p => new Measurement<long>(p.Position!.Value, new KeyValuePair<string, object?>("projection", p.Projection))),
            description: "Sequence of the last event the projection or subscription processed (its checkpoint); stalled when it stops moving while lag_events > 0");
        _meter.CreateObservableGauge("analytics.projection.dead_letters",
            () => _latest.Select(p => new Measurement<long>(p.DeadLetters, new KeyValuePair<string, object?>("projection", p.Projection))),
            description: "Events a projection or subscription skipped because processing them threw (mt_doc_deadletterevent)");
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var latest = await ReadAsync(stoppingToken);
                foreach (var (projection, _, _, _, deadLetters) in latest)
                {
                    var before = _latest.FirstOrDefault(p => p.Projection == projection)?.DeadLetters ?? 0;
                    if (deadLetters > before)
                    {
                        LogDeadLetters(logger, projection, deadLetters - before, deadLetters);
                    }
                }

                _latest = latest;
            }
            catch (Exception ex) when (ex is PostgresException or NpgsqlException)
            {
                LogReadFailed(logger, ex.Message);
            }

            await Task.Delay(Interval, stoppingToken);
        }
    }

    /// <summary>
    /// Every projection and subscription with a checkpoint (mt_event_progression), and every projection that has dead
    /// letters but no checkpoint (an inline projection such as the alerts'): a dead letter's projection name is matched to
    /// a checkpoint by prefix (the daemon names checkpoints "Name:All").
    /// </summary>
    public async Task<IReadOnlyList<ProjectionState>> ReadAsync(CancellationToken ct)
    {
        var schema = EventStoreRegistration.SchemaName;
        bool deadLetterTable;
        await using (var exists = dataSource.CreateCommand($"select to_regclass('{schema}.mt_doc_deadletterevent') is not null"))
        {
            // Marten creates the dead-letter table when it first needs it.
            deadLetterTable = (bool)(await exists.ExecuteScalarAsync(ct))!;
        }

        var dead = new List<(string Projection, long Count)>();
        if (deadLetterTable)
        {
            await using var deadCommand = dataSource.CreateCommand(
                $"select coalesce(data ->> 'projectionName', data ->> 'ProjectionName'), count(*) from {schema}.mt_doc_deadletterevent group by 1");
            await using var deadReader = await deadCommand.ExecuteReaderAsync(ct);
            while (await deadReader.ReadAsync(ct))
            {
                if (!deadReader.IsDBNull(0))
                {
                    dead.Add((deadReader.GetString(0), deadReader.GetInt64(1)));
                }
            }
        }

        await using var command = dataSource.CreateCommand(
            $"""
            with high as (select coalesce(max(seq_id), 0) as seq from {schema}.mt_events),
            progress as (
                select split_part(name, ':', 1) as projection, min(last_seq_id) as last_seq
                from {schema}.mt_event_progression where name not like 'HighWater%' group by 1)
            select p.projection, p.last_seq, greatest(h.seq - p.last_seq, 0),
                coalesce(extract(epoch from now() - (select e.timestamp from {schema}.mt_events e where e.seq_id > p.last_seq order by e.seq_id limit 1)), 0)
            from progress p cross join high h order by 1
            """);
        var rows = new List<ProjectionState>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var projection = reader.GetString(0);
                rows.Add(new ProjectionState(projection, reader.GetInt64(1), reader.GetInt64(2),
                    Convert.ToDouble(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture),
                    dead.Where(d => Matches(projection, d.Projection)).Sum(d => d.Count)));
            }
        }

        foreach (var group in dead.Where(d => !rows.Any(r => Matches(r.Projection, d.Projection))).GroupBy(d => d.Projection))
        {
            rows.Add(new ProjectionState(group.Key, null, 0, 0, group.Sum(d => d.Count)));
        }

        // Inline projections have no checkpoint: their dead-letter series exists from the start (at 0), so that the alert on
        // dead letters increasing sees the first one.
        foreach (var inline in InlineProjections.Where(i => !rows.Any(r => r.Projection == i)))
        {
            rows.Add(new ProjectionState(inline, null, 0, 0, 0));
        }

        return rows;
    }

    /// <summary>Inline projections that dead-letter an event they cannot project (<see cref="AlertsProjection"/>).</summary>
    public static readonly IReadOnlyList<string> InlineProjections = [AlertsProjection.ProjectionName];

    private static bool Matches(string checkpoint, string deadLetterProjection) =>
        checkpoint.StartsWith(deadLetterProjection, StringComparison.Ordinal) || deadLetterProjection.StartsWith(checkpoint, StringComparison.Ordinal);

    public override void Dispose()
    {
        _meter.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Projection {Projection}: {New} more event(s) skipped by the daemon ({Total} dead letters in mt_doc_deadletterevent)")]
    private static partial void LogDeadLetters(ILogger logger, string projection, long @new, long total);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Projection health not readable yet: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, string reason);
}

public static class ProjectionHealthRegistration
{
    public static IServiceCollection AddProjectionHealth(this IServiceCollection services) =>
        services.AddHostedService<ProjectionHealth>();
}
