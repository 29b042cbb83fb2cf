using System.Text.Json;
using Analytics.Conversations;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Weasel.Postgresql.Tables;

namespace Analytics.Alerting;

/// <summary>
/// Inline projection of the alert streams into analytics.alerts: one row per alert with its cell, state, the
/// headline numbers of its evidence (for Grafana) and the whole evidence as jsonb. Inline, so that the API sees an
/// alert, and its acknowledgement, as soon as the event is stored.
/// </summary>
public sealed partial class AlertsProjection : EventProjection
{
    public const string Alerts = EventStoreRegistration.SchemaName + ".alerts";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public AlertsProjection()
    {
        var alerts = new Table(Alerts);
        alerts.AddColumn<Guid>("alert_id").AsPrimaryKey();
        alerts.AddColumn<Guid>("stream_id").NotNull();
        alerts.AddColumn<string>("model_id").NotNull();
        alerts.AddColumn<string>("model_version").NotNull();
        alerts.AddColumn<string>("capability").NotNull();
        alerts.AddColumn<string>("state").NotNull();
        alerts.AddColumn<DateTimeOffset>("detected_at").NotNull();
        alerts.AddColumn<DateTimeOffset>("resolved_at");
        alerts.AddColumn<DateTimeOffset>("acknowledged_at");
        alerts.AddColumn<string>("acknowledged_by");
        alerts.AddColumn<string>("acknowledgement_note");
        alerts.AddColumn<string>("baseline_kind").NotNull();
        alerts.AddColumn<string>("baseline_version").NotNull();
        alerts.AddColumn<double>("baseline_down_rate").NotNull();
        alerts.AddColumn<long>("baseline_rated").NotNull();
        alerts.AddColumn<double>("window_down_rate").NotNull();
        alerts.AddColumn<long>("window_rated").NotNull();
        alerts.AddColumn<double>("p_value").NotNull();
        alerts.AddColumn("detected_evidence", "jsonb").NotNull();
        alerts.AddColumn("resolved_evidence", "jsonb");
        alerts.Indexes.Add(new IndexDefinition("ix_alerts_state_detected") { Columns = ["state", "detected_at"] });
        SchemaObjects.Add(alerts);
        Options.DeleteDataInTableOnTeardown(Alerts);
    }

    public void Project(IEvent<RegressionDetected> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"""
        insert into {Alerts} (alert_id, stream_id, model_id, model_version, capability, state, detected_at, baseline_kind, baseline_version,
            baseline_down_rate, baseline_rated, window_down_rate, window_rated, p_value, detected_evidence)
        values (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)
        on conflict (alert_id) do nothing
        """,
        e.Data.AlertId, e.StreamId, e.Data.Cell.ModelId, e.Data.Cell.ModelVersion, e.Data.Cell.Capability, e.Data.DetectedAt.ToUniversalTime(),
        e.Data.Evidence.BaselineKind, e.Data.Evidence.BaselineVersion, e.Data.Evidence.BaselineDownRate, e.Data.Evidence.BaselineRated,
        e.Data.Evidence.WindowDownRate, e.Data.Evidence.WindowRated, e.Data.Evidence.PValue, JsonSerializer.Serialize(e.Data.Evidence, Json));

    public void Project(IEvent<RegressionResolved> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"update {Alerts} set state = 'resolved', resolved_at = ?, resolved_evidence = ?::jsonb where alert_id = ?",
        e.Data.ResolvedAt.ToUniversalTime(), JsonSerializer.Serialize(e.Data.Evidence, Json), e.Data.AlertId);

    public void Project(IEvent<RegressionAcknowledged> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"update {Alerts} set acknowledged_at = ?, acknowledged_by = ?, acknowledgement_note = ? where alert_id = ?",
        e.Data.AcknowledgedAt.ToUniversalTime(), e.Data.Actor, (object?)e.Data.Note ?? DBNull.Value, e.Data.AlertId);
}
