using JasperFx.Events;
using Marten;
using Marten.Events.Projections;

namespace Analytics.Triage;

/// <summary>
/// Keeps the triage columns of a cluster's row in tri_clusters (state, assignee, severity, category, fix reference,
/// size at resolution, version) from the triage events of its stream. Inline: the row changes in the transaction that
/// appends the event, so the list and the console show an action as soon as it is accepted. ClusterOpened is not
/// projected: the clusterer inserts the row with the centroid and size the event does not carry, in the same transaction.
/// The row keeps the highest stream version it has seen, so two writers committing in either order leave the stream's
/// version in the row.
/// </summary>
public sealed partial class TriageRowProjection : EventProjection
{
    public void Project(IEvent<ClusterAssigned> e, IDocumentOperations ops) =>
        Update(ops, e, e.Data.At, "assignee = ?", e.Data.Assignee);

    public void Project(IEvent<ClusterLabeled> e, IDocumentOperations ops) =>
        Update(ops, e, e.Data.At, "severity = ?, category = ?", e.Data.Severity.ToString(), TriageTables.Wire(e.Data.Category));

    public void Project(IEvent<ClusterNoteAdded> e, IDocumentOperations ops) => Update(ops, e, e.Data.At, null);

    public void Project(IEvent<ClusterResolved> e, IDocumentOperations ops) =>
        Update(ops, e, e.Data.At, "state = ?, fix_reference = ?, size_at_resolution = ?, resolved_at = ?",
            TriageTables.Wire(ClusterState.Resolved), e.Data.FixReference, e.Data.SizeAtResolution, e.Data.At.ToUniversalTime());

    public void Project(IEvent<ClusterReopened> e, IDocumentOperations ops) =>
        Update(ops, e, e.Data.At, "state = ?", TriageTables.Wire(ClusterState.Open));

    /// <summary>
    /// Sets <paramref name="columns"/> (placeholders for <paramref name="values"/>), the event's stream version and its
    /// time <paramref name="at"/> on the cluster's row.
    /// </summary>
    private static void Update(IDocumentOperations ops, IEvent e, DateTimeOffset at, string? columns, params object[] values)
    {
        var set = columns is null ? "" : columns + ", ";
        ops.QueueSqlCommand(
            $"update {TriageTables.Clusters} set {set}triage_version = greatest(triage_version, ?), updated_at = ? where cluster_id = ?",
            [.. values, e.Version, at.ToUniversalTime(), e.StreamId]);
    }
}
