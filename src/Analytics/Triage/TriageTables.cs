using Analytics.Conversations;
using Marten;
using Weasel.Postgresql.Tables;

namespace Analytics.Triage;

/// <summary>
/// The clusters as plain SQL tables (schema analytics, prefix tri_) for the API and Grafana. tri_clusters holds
/// one row per cluster: its group, centroid, size, suggested label and the triage state folded from its stream
/// (written in the same transaction as each triage event). tri_cluster_items holds one row per thumbs-down
/// response that was clustered (its comment and prompt excerpt were redacted at ingestion).
/// </summary>
public static class TriageTables
{
    public const string Clusters = EventStoreRegistration.SchemaName + ".tri_clusters";
    public const string Items = EventStoreRegistration.SchemaName + ".tri_cluster_items";

    public static void AddTriage(this StoreOptions options)
    {
        options.Events.AddEventType<ClusterOpened>();
        options.Events.AddEventType<ClusterAssigned>();
        options.Events.AddEventType<ClusterLabeled>();
        options.Events.AddEventType<ClusterNoteAdded>();
        options.Events.AddEventType<ClusterResolved>();
        options.Events.AddEventType<ClusterReopened>();

        var clusters = new Table(Clusters);
        clusters.AddColumn<Guid>("cluster_id").AsPrimaryKey();
        clusters.AddColumn<string>("model_id").NotNull();
        clusters.AddColumn<string>("capability").NotNull();
        clusters.AddColumn<string>("reason").NotNull();
        clusters.AddColumn<string>("label").NotNull();
        clusters.AddColumn<double>("label_similarity").NotNull();
        clusters.AddColumn("centroid", "real[]").NotNull();
        clusters.AddColumn<int>("size").NotNull();
        clusters.AddColumn<DateTimeOffset>("opened_at").NotNull();
        clusters.AddColumn<DateTimeOffset>("first_item_at").NotNull();
        clusters.AddColumn<DateTimeOffset>("last_item_at").NotNull();
        clusters.AddColumn<string>("state").NotNull();
        clusters.AddColumn<string>("severity");
        clusters.AddColumn<string>("category");
        clusters.AddColumn<string>("assignee");
        clusters.AddColumn<string>("fix_reference");
        clusters.AddColumn<int>("size_at_resolution").NotNull().DefaultValueByExpression("0");
        clusters.AddColumn<DateTimeOffset>("resolved_at");
        clusters.AddColumn<long>("triage_version").NotNull();
        clusters.AddColumn<DateTimeOffset>("updated_at").NotNull();
        clusters.Indexes.Add(new IndexDefinition("ix_tri_clusters_group") { Columns = ["model_id", "capability", "reason"] });

        var items = new Table(Items);
        items.AddColumn<Guid>("turn_id").AsPrimaryKey();
        items.AddColumn<Guid>("rating_event_id").NotNull();
        items.AddColumn<Guid>("conversation_id").NotNull();
        items.AddColumn<Guid>("cluster_id").NotNull();
        items.AddColumn<string>("model_id").NotNull();
        items.AddColumn<string>("model_version").NotNull();
        items.AddColumn<string>("capability").NotNull();
        items.AddColumn<string>("reason").NotNull();
        items.AddColumn("reasons", "text[]").NotNull();
        items.AddColumn<string>("comment");
        items.AddColumn<string>("prompt_excerpt");
        items.AddColumn<double>("similarity").NotNull();
        items.AddColumn("embedding", "real[]").NotNull();
        items.AddColumn<DateTimeOffset>("occurred_at").NotNull();
        items.AddColumn<DateTimeOffset>("stored_at").NotNull();
        items.AddColumn<DateTimeOffset>("clustered_at").NotNull();
        items.Indexes.Add(new IndexDefinition("ix_tri_cluster_items_cluster") { Columns = ["cluster_id", "occurred_at"] });
        // The clusterer's label candidates: a cluster's latest commented items, and its latest items without a comment.
        // Through the index above alone, a big cluster with few comments was read item by item to find them (153 ms a
        // page at 10M events, as much PostgreSQL time as the satisfaction projection).
        items.Indexes.Add(new IndexDefinition("ix_tri_cluster_items_commented") { Columns = ["cluster_id", "occurred_at"], Predicate = "comment is not null" });
        items.Indexes.Add(new IndexDefinition("ix_tri_cluster_items_uncommented") { Columns = ["cluster_id", "occurred_at"], Predicate = "comment is null" });
        items.Indexes.Add(new IndexDefinition("ix_tri_cluster_items_occurred") { Columns = ["occurred_at"] });

        options.Storage.ExtendedSchemaObjects.Add(clusters);
        options.Storage.ExtendedSchemaObjects.Add(items);
    }

    public static string Wire(ClusterState state) => state.ToString().ToLowerInvariant();

    public static string Wire(TriageCategory category) => category.ToString().ToLowerInvariant();

    /// <summary>
    /// The SQL that folds one triage event into the cluster's row (same transaction as the append), and the
    /// parameters for it. <paramref name="version"/> is the stream version of the event: the row keeps the highest
    /// it has seen, so two writers committing in either order leave the stream's version in the row.
    /// </summary>
    public static (string Sql, object[] Parameters) RowUpdate(object triageEvent, long version) => triageEvent switch
    {
        ClusterAssigned e => ($"update {Clusters} set assignee = ?, triage_version = greatest(triage_version, ?), updated_at = ? where cluster_id = ?",
            [e.Assignee, version, e.At.ToUniversalTime(), e.ClusterId]),
        ClusterLabeled e => ($"update {Clusters} set severity = ?, category = ?, triage_version = greatest(triage_version, ?), updated_at = ? where cluster_id = ?",
            [e.Severity.ToString(), Wire(e.Category), version, e.At.ToUniversalTime(), e.ClusterId]),
        ClusterNoteAdded e => ($"update {Clusters} set triage_version = greatest(triage_version, ?), updated_at = ? where cluster_id = ?",
            [version, e.At.ToUniversalTime(), e.ClusterId]),
        ClusterResolved e => ($"update {Clusters} set state = ?, fix_reference = ?, size_at_resolution = ?, resolved_at = ?, triage_version = greatest(triage_version, ?), updated_at = ? where cluster_id = ?",
            [Wire(ClusterState.Resolved), e.FixReference, e.SizeAtResolution, e.At.ToUniversalTime(), version, e.At.ToUniversalTime(), e.ClusterId]),
        ClusterReopened e => ($"update {Clusters} set state = ?, triage_version = greatest(triage_version, ?), updated_at = ? where cluster_id = ?",
            [Wire(ClusterState.Open), version, e.At.ToUniversalTime(), e.ClusterId]),
        _ => throw new ArgumentException($"Not a triage action: {triageEvent.GetType().Name}", nameof(triageEvent)),
    };
}
