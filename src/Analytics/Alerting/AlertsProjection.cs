using System.Text.Json;
using Analytics.Conversations;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;
using Weasel.Postgresql.Tables;

namespace Analytics.Alerting;

/// <summary>
/// Inline projection of the alert streams into analytics.alerts: one row per alert with its cell, state, the
/// headline numbers of its evidence (for Grafana) and the whole evidence as jsonb. Inline, so that the API sees an
/// alert, and its acknowledgement, as soon as the event is stored. An event whose row cannot be built is dead-lettered
/// alone (<see cref="Isolated"/>).
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

    public void Project(IEvent<RegressionDetected> e, IDocumentOperations ops) => Isolated(e, ops, () => (
        $"""
        insert into {Alerts} (alert_id, stream_id, model_id, model_version, capability, state, detected_at, baseline_kind, baseline_version,
            baseline_down_rate, baseline_rated, window_down_rate, window_rated, p_value, detected_evidence)
        values (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)
        on conflict (alert_id) do nothing
        """,
        [e.Data.AlertId, e.StreamId, e.Data.Cell.ModelId, e.Data.Cell.ModelVersion, e.Data.Cell.Capability, e.Data.DetectedAt.ToUniversalTime(),
        e.Data.Evidence.BaselineKind, e.Data.Evidence.BaselineVersion, e.Data.Evidence.BaselineDownRate, e.Data.Evidence.BaselineRated,
        e.Data.Evidence.WindowDownRate, e.Data.Evidence.WindowRated, e.Data.Evidence.PValue, JsonSerializer.Serialize(e.Data.Evidence, Json)]));

    public void Project(IEvent<RegressionResolved> e, IDocumentOperations ops) => Isolated(e, ops, () => (
        $"update {Alerts} set state = 'resolved', resolved_at = ?, resolved_evidence = ?::jsonb where alert_id = ?",
        [e.Data.ResolvedAt.ToUniversalTime(), JsonSerializer.Serialize(e.Data.Evidence, Json), e.Data.AlertId]));

    public void Project(IEvent<RegressionAcknowledged> e, IDocumentOperations ops) => Isolated(e, ops, () => (
        $"update {Alerts} set acknowledged_at = ?, acknowledged_by = ?, acknowledgement_note = ? where alert_id = ?",
        [e.Data.AcknowledgedAt.ToUniversalTime(), e.Data.Actor, (object?)e.Data.Note ?? DBNull.Value, e.Data.AlertId]));

    /// <summary>
    /// Queues the row change of one event, or, when building it throws (evidence that does not serialize, a value the
    /// row cannot take), dead-letters that event in the same transaction instead: a DeadLetterEvent document in
    /// mt_doc_deadletterevent (projection <see cref="ProjectionName"/>, counted by analytics_projection_dead_letters), so
    /// the alert's event is still stored, the one row is missing where someone can see it, and the next alert is not held up.
    /// Nothing the user wrote (an acknowledgement note) reaches a log or the dead letter's message.
    /// </summary>
    private static void Isolated(IEvent e, IDocumentOperations ops, Func<(string Sql, object[] Parameters)> row)
    {
        (string Sql, object[] Parameters) command;
        try
        {
            command = row();
            if (command.Parameters.OfType<string>().FirstOrDefault(p => !IsStorableText(p)) is not null)
            {
                throw new ArgumentException("A text value holds U+0000 or half a surrogate pair, which PostgreSQL cannot store.");
            }
        }
        catch (Exception failure) when (failure is not OperationCanceledException)
        {
            ops.Store(new DeadLetterEvent(e, new ShardName(ProjectionName), new ApplyEventException(e, failure)));
            return;
        }

        ops.QueueSqlCommand(command.Sql, command.Parameters);
    }

    /// <summary>The name this projection's dead letters carry (the name Marten gives the projection).</summary>
    public const string ProjectionName = nameof(AlertsProjection);

    /// <summary>False for text PostgreSQL refuses: a NUL, or a surrogate that is not half of a pair.</summary>
    internal static bool IsStorableText(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }
}
