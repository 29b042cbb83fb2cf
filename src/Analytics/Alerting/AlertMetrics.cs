using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Analytics.Alerting;

/// <summary>
/// Meter Analytics.Alerts: active alerts and the CUSUM statistic per cell (gauges), alerts raised and resolved, and
/// deliveries by channel and outcome (counters), and the dead deliveries in the outbox per channel (gauge). Prometheus:
/// analytics_alerts_active, analytics_alerts_statistic, analytics_alerts_raised_total, analytics_alerts_resolved_total,
/// analytics_alerts_deliveries_total, analytics_alerts_deliveries_dead.
/// </summary>
public sealed class AlertMetrics : IDisposable
{
    public const string MeterName = "Analytics.Alerts";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _raised;
    private readonly Counter<long> _resolved;
    private readonly Counter<long> _deliveries;
    private readonly ConcurrentDictionary<CellKey, (int Active, double Statistic)> _cells = new();
    private volatile IReadOnlyDictionary<string, long> _dead = new Dictionary<string, long>();

    public AlertMetrics()
    {
        _raised = _meter.CreateCounter<long>("analytics.alerts.raised", description: "Regression alerts raised");
        _resolved = _meter.CreateCounter<long>("analytics.alerts.resolved", description: "Regression alerts resolved");
        _deliveries = _meter.CreateCounter<long>("analytics.alerts.deliveries", description: "Alert deliveries by channel and outcome");
        _meter.CreateObservableGauge("analytics.alerts.active",
            () => _cells.Select(c => new Measurement<int>(c.Value.Active, Tags(c.Key))), description: "1 while the cell has an active regression alert");
        _meter.CreateObservableGauge("analytics.alerts.statistic",
            () => _cells.Select(c => new Measurement<double>(c.Value.Statistic, Tags(c.Key))),
            description: "The cell's CUSUM statistic (detecting: alerts at the threshold; alerting: resolves at the recovery threshold)");
        _meter.CreateObservableGauge("analytics.alerts.deliveries.dead",
            () => _dead.Select(c => new Measurement<long>(c.Value, new KeyValuePair<string, object?>("channel", c.Key))),
            description: "Alert deliveries given up (unreadable payload or every attempt failed), per channel; GET /api/alerts/deliveries?state=dead lists them");
    }

    public void Raised(CellKey cell) => _raised.Add(1, Tags(cell));

    public void Resolved(CellKey cell) => _resolved.Add(1, Tags(cell));

    /// <summary>One delivery attempt: <paramref name="outcome"/> is delivered, failed (to be retried) or dead (given up).</summary>
    public void Delivery(string channel, string outcome) =>
        _deliveries.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>The dead deliveries in the outbox, per channel (the delivery loop counts them at every poll).</summary>
    public void DeadDeliveries(IReadOnlyDictionary<string, long> perChannel) => _dead = perChannel;

    public void Observe(RegressionDetector detector)
    {
        var active = detector.ActiveAlerts;
        foreach (var (cell, statistic) in detector.Statistics)
        {
            _cells[cell] = (active.ContainsKey(cell) ? 1 : 0, statistic);
        }
    }

    private static KeyValuePair<string, object?>[] Tags(CellKey cell) =>
    [
        new("model", cell.ModelId), new("version", cell.ModelVersion), new("capability", cell.Capability),
    ];

    public void Dispose() => _meter.Dispose();
}
