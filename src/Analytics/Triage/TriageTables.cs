using Analytics.Conversations;
using JasperFx.Events.Projections;
using Marten;
using Weasel.Postgresql.Tables;

namespace Analytics.Triage;

/// <summary>
/// The clusters as plain SQL tables (schema analytics, prefix tri_) for the API and Grafana. tri_clusters holds
/// one row per cluster: its group, centroid, size and suggested label (written by the clusterer), and the triage state
/// folded from its stream (by <see cref="TriageRowProjection"/>, inline: in the same transaction as each triage event). tri_cluster_items holds one row per thumbs-down
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
        options.Projections.Add(new TriageRowProjection(), ProjectionLifecycle.Inline);

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
}
