using Weasel.Postgresql.Tables;

namespace Analytics.Satisfaction;

/// <summary>
/// The tables of <see cref="SatisfactionProjection"/> (schema analytics, prefix sat_), with their primary keys and
/// indexes: the facts (conversations, responses, ratings, comparisons) and the counters the API and Grafana read.
/// </summary>
public static class SatisfactionTables
{
    /// <summary>A counter row that counts nothing (regenerations and latency only move with responses).</summary>
    internal const string SpentCell = "responses = 0 and rated = 0 and up = 0 and down = 0";

    /// <summary>Every table, freshly defined (a projection registers its own instances).</summary>
    public static IReadOnlyList<Table> Definitions()
    {
        var conversations = new Table(SatisfactionProjection.Conversations);
        conversations.AddColumn<Guid>("conversation_id").AsPrimaryKey();
        conversations.AddColumn<DateTimeOffset>("started_at").NotNull();
        conversations.AddColumn<string>("surface").NotNull();
        conversations.AddColumn<string>("locale").NotNull();
        conversations.AddColumn<bool>("custom_instructions").NotNull();
        conversations.AddColumn<string>("experiment_id");
        conversations.AddColumn<string>("experiment_arm");

        var responses = new Table(SatisfactionProjection.Responses);
        responses.AddColumn<Guid>("turn_id").AsPrimaryKey();
        responses.AddColumn<Guid>("conversation_id").NotNull();
        responses.AddColumn<DateTimeOffset>("occurred_at").NotNull();
        responses.AddColumn<DateTimeOffset>("hour").NotNull();
        responses.AddColumn<string>("model_id").NotNull();
        responses.AddColumn<string>("model_version").NotNull();
        responses.AddColumn<string>("model_variant");
        responses.AddColumn("capabilities", "text[]").NotNull();
        responses.AddColumn<int>("turn_index").NotNull();
        responses.AddColumn<int>("latency_ms").NotNull();
        responses.AddColumn<Guid>("regenerated_from");
        responses.AddColumn<string>("prompt_excerpt");
        responses.AddColumn<string>("response_excerpt");
        // The slice the response was counted under (from its conversation, as known when it was projected).
        responses.AddColumn<string>("surface").NotNull();
        responses.AddColumn<string>("custom_instructions").NotNull();
        responses.AddColumn<string>("experiment_arm").NotNull();
        responses.Indexes.Add(new IndexDefinition("ix_sat_responses_hour_model") { Columns = ["hour", "model_id", "model_version"] });
        responses.Indexes.Add(new IndexDefinition("ix_sat_responses_conversation") { Columns = ["conversation_id"] });
        // The conversations behind a count, newest first (GET /api/conversations): walked backwards, a page stops early.
        responses.Indexes.Add(new IndexDefinition("ix_sat_responses_occurred") { Columns = ["occurred_at", "turn_id"] });

        var ratings = new Table(SatisfactionProjection.Ratings);
        ratings.AddColumn<Guid>("turn_id").AsPrimaryKey();
        ratings.AddColumn<Guid>("conversation_id").NotNull();
        ratings.AddColumn<DateTimeOffset>("occurred_at").NotNull();
        ratings.AddColumn<string>("rating").NotNull();
        ratings.AddColumn("reasons", "text[]").NotNull();
        ratings.AddColumn<string>("comment");
        ratings.AddColumn<string>("model_id").NotNull();
        ratings.AddColumn<string>("model_version").NotNull();
        ratings.AddColumn("capabilities", "text[]").NotNull();
        // One conversation's ratings (GET /api/conversations/{id}, its ratings without a response).
        ratings.Indexes.Add(new IndexDefinition("ix_sat_ratings_conversation") { Columns = ["conversation_id"] });

        var comparisons = new Table(SatisfactionProjection.Comparisons);
        comparisons.AddColumn<Guid>("comparison_id").AsPrimaryKey();
        comparisons.AddColumn<Guid>("conversation_id").NotNull();
        comparisons.AddColumn<DateTimeOffset>("occurred_at").NotNull();
        comparisons.AddColumn<DateTimeOffset>("hour").NotNull();
        comparisons.AddColumn<Guid>("a_turn_id").NotNull();
        comparisons.AddColumn<string>("a_model_id").NotNull();
        comparisons.AddColumn<string>("a_model_version").NotNull();
        comparisons.AddColumn<Guid>("b_turn_id").NotNull();
        comparisons.AddColumn<string>("b_model_id").NotNull();
        comparisons.AddColumn<string>("b_model_version").NotNull();
        comparisons.AddColumn<string>("preferred").NotNull();
        comparisons.AddColumn("capabilities", "text[]").NotNull();
        comparisons.AddColumn("reasons", "text[]").NotNull();
        // One conversation's comparisons (GET /api/conversations/{id}).
        comparisons.Indexes.Add(new IndexDefinition("ix_sat_comparisons_conversation") { Columns = ["conversation_id"] });

        // Hourly counters per model × version × capability × slice. Capability "*" is the model version over all
        // capabilities (a response with two capabilities counts once there). Slices kept: surface, custom
        // instructions (true/false), experiment arm — locale, profile and variant stay in the facts, to keep the
        // row count bounded by hours × model versions × (capabilities + 1) × surfaces × 2 × arms.
        var cells = CounterTable(SatisfactionProjection.Cells, "ix_sat_cells_spent",
            "hour", "model_id", "model_version", "capability", "surface", "custom_instructions", "experiment_arm");

        // The same counters without slices: their row count is bounded by hours × model versions × (capabilities + 1)
        // whatever the traffic, which keeps the unsliced matrix and over-time queries cheap.
        var totals = CounterTable(SatisfactionProjection.CellTotals, "ix_sat_cell_totals_spent", "hour", "model_id", "model_version", "capability");

        // The unsliced counters again per UTC day, so that a window of weeks reads days (plus the hours of its partial
        // first and last day) rather than every hour.
        var days = CounterTable(SatisfactionProjection.CellDays, "ix_sat_cell_days_spent", "day", "model_id", "model_version", "capability");

        // Thumbs-down reasons per unsliced cell and hour: how many turns of the cell are currently rated down with that
        // reason (a down with two reasons counts under both; a flip or a withdrawal takes it out again). Keyed for the
        // reasons query: one model and capability over a range of hours. Rows that reach zero are deleted after each page
        // (DeleteSpentRows), so the table is the same whatever the page boundaries.
        var reasons = new Table(SatisfactionProjection.CellReasons);
        reasons.AddColumn<string>("model_id").AsPrimaryKey();
        reasons.AddColumn<string>("capability").AsPrimaryKey();
        reasons.AddColumn<DateTimeOffset>("hour").AsPrimaryKey();
        reasons.AddColumn<string>("model_version").AsPrimaryKey();
        reasons.AddColumn<string>("reason").AsPrimaryKey();
        reasons.AddColumn<long>("down").NotNull().DefaultValueByExpression("0");
        reasons.Indexes.Add(new IndexDefinition("ix_sat_cell_reasons_spent") { Columns = ["model_id"], Predicate = "down = 0" });

        return [conversations, responses, ratings, comparisons, cells, totals, days, reasons, Analytics.Comparisons.ComparisonPairCounts.Definition()];
    }

    /// <summary>
    /// A counter table: the key (a time bucket first, timestamptz; the rest text), the counters (bigint, 0 by default),
    /// and a partial index of the rows that count nothing (<see cref="SpentCell"/>), which the page statement deletes.
    /// </summary>
    private static Table CounterTable(string name, string spentIndex, string bucket, params string[] key)
    {
        var table = new Table(name);
        table.AddColumn<DateTimeOffset>(bucket).AsPrimaryKey();
        foreach (var column in key)
        {
            table.AddColumn<string>(column).AsPrimaryKey();
        }

        foreach (var counter in new[] { "responses", "rated", "up", "down", "regenerations", "latency_sum" })
        {
            table.AddColumn<long>(counter).NotNull().DefaultValueByExpression("0");
        }

        table.Indexes.Add(new IndexDefinition(spentIndex) { Columns = ["model_id"], Predicate = SpentCell });
        return table;
    }

    /// <summary>Each table with its primary key columns (the order in which to compare them row for row).</summary>
    public static IReadOnlyList<(string Table, string Key)> Keys() =>
        Definitions().Select(table => (table.Identifier.QualifiedName, string.Join(", ", table.PrimaryKeyColumns))).ToList();
}
