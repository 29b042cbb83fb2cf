using Analytics.Contracts;
using Analytics.Conversations;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Weasel.Postgresql.Tables;

namespace Analytics.Satisfaction;

/// <summary>
/// Async projection of conversation streams into plain SQL tables (schema analytics, prefix sat_) that the
/// API and Grafana query with ordinary SQL. Every write is an upsert keyed by the fact's own id, so a replay
/// or a rebuild gives the same rows. A later rating of a turn replaces the earlier one (the latest
/// occurredAt wins; on a tie the later event in the store wins); "none" withdraws it. A rating that arrives
/// before its response is kept and counts as soon as the response is there (the cells join the two).
/// </summary>
public sealed partial class SatisfactionProjection : EventProjection
{
    public const string Conversations = EventStoreRegistration.SchemaName + ".sat_conversations";
    public const string Responses = EventStoreRegistration.SchemaName + ".sat_responses";
    public const string Ratings = EventStoreRegistration.SchemaName + ".sat_ratings";
    public const string Comparisons = EventStoreRegistration.SchemaName + ".sat_comparisons";
    public const string Cells = EventStoreRegistration.SchemaName + ".sat_cells";
    public const string CellTotals = EventStoreRegistration.SchemaName + ".sat_cell_totals";

    /// <summary>Slice value when a response's conversation was not projected before it (or has no experiment).</summary>
    public const string Unknown = "";

    public SatisfactionProjection()
    {
        var conversations = new Table(Conversations);
        conversations.AddColumn<Guid>("conversation_id").AsPrimaryKey();
        conversations.AddColumn<DateTimeOffset>("started_at").NotNull();
        conversations.AddColumn<string>("surface").NotNull();
        conversations.AddColumn<string>("locale").NotNull();
        conversations.AddColumn<bool>("custom_instructions").NotNull();
        conversations.AddColumn<string>("experiment_id");
        conversations.AddColumn<string>("experiment_arm");

        var responses = new Table(Responses);
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

        var ratings = new Table(Ratings);
        ratings.AddColumn<Guid>("turn_id").AsPrimaryKey();
        ratings.AddColumn<Guid>("conversation_id").NotNull();
        ratings.AddColumn<DateTimeOffset>("occurred_at").NotNull();
        ratings.AddColumn<string>("rating").NotNull();
        ratings.AddColumn("reasons", "text[]").NotNull();
        ratings.AddColumn<string>("comment");
        ratings.AddColumn<string>("model_id").NotNull();
        ratings.AddColumn<string>("model_version").NotNull();
        ratings.AddColumn("capabilities", "text[]").NotNull();

        var comparisons = new Table(Comparisons);
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

        // Hourly counters per model × version × capability × slice. Capability "*" is the model version over all
        // capabilities (a response with two capabilities counts once there). Slices kept: surface, custom
        // instructions (true/false), experiment arm — locale, profile and variant stay in the facts, to keep the
        // row count bounded by hours × model versions × (capabilities + 1) × surfaces × 2 × arms.
        var cells = new Table(Cells);
        cells.AddColumn<DateTimeOffset>("hour").AsPrimaryKey();
        cells.AddColumn<string>("model_id").AsPrimaryKey();
        cells.AddColumn<string>("model_version").AsPrimaryKey();
        cells.AddColumn<string>("capability").AsPrimaryKey();
        cells.AddColumn<string>("surface").AsPrimaryKey();
        cells.AddColumn<string>("custom_instructions").AsPrimaryKey();
        cells.AddColumn<string>("experiment_arm").AsPrimaryKey();
        foreach (var counter in new[] { "responses", "rated", "up", "down", "regenerations", "latency_sum" })
        {
            cells.AddColumn<long>(counter).NotNull().DefaultValueByExpression("0");
        }

        // The same counters without slices: their row count is bounded by hours × model versions × (capabilities + 1)
        // whatever the traffic, which keeps the unsliced matrix and over-time queries cheap.
        var totals = new Table(CellTotals);
        totals.AddColumn<DateTimeOffset>("hour").AsPrimaryKey();
        totals.AddColumn<string>("model_id").AsPrimaryKey();
        totals.AddColumn<string>("model_version").AsPrimaryKey();
        totals.AddColumn<string>("capability").AsPrimaryKey();
        foreach (var counter in new[] { "responses", "rated", "up", "down", "regenerations", "latency_sum" })
        {
            totals.AddColumn<long>(counter).NotNull().DefaultValueByExpression("0");
        }

        foreach (var table in new[] { conversations, responses, ratings, comparisons, cells, totals })
        {
            SchemaObjects.Add(table);
            Options.DeleteDataInTableOnTeardown(table.Identifier.QualifiedName);
        }
    }

    public static DateTimeOffset HourOf(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    public static string Wire(Rating rating) => rating.ToString().ToLowerInvariant();

    public static string Wire(Preference preference) => preference == Preference.BothBad ? "both_bad" : preference.ToString().ToLowerInvariant();

    public static string[] Wire(IEnumerable<FeedbackReason> reasons) =>
        reasons.Select(r => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(r.ToString())).ToArray();

    private static object Nullable(object? value) => value ?? DBNull.Value;

    public void Project(IEvent<ConversationStartedRecorded> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"""
        insert into {Conversations} (conversation_id, started_at, surface, locale, custom_instructions, experiment_id, experiment_arm)
        values (?, ?, ?, ?, ?, ?, ?) on conflict (conversation_id) do nothing
        """,
        e.StreamId, e.Data.OccurredAt.ToUniversalTime(), e.Data.Surface, e.Data.Locale, e.Data.Personalization.CustomInstructions,
        Nullable(e.Data.Experiment?.Id), Nullable(e.Data.Experiment?.Arm));

    /// <summary>
    /// Records the response (first copy wins) and, only if it was new, counts it in its cells, together with a
    /// rating that arrived before it.
    /// </summary>
    public void Project(IEvent<ResponseGeneratedRecorded> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"""
        with conversation as (
            select surface, custom_instructions::text as custom_instructions, coalesce(experiment_arm, '') as experiment_arm
            from {Conversations} where conversation_id = ?),
        inserted as (
            insert into {Responses} (turn_id, conversation_id, occurred_at, hour, model_id, model_version, model_variant, capabilities,
                turn_index, latency_ms, regenerated_from, prompt_excerpt, response_excerpt, surface, custom_instructions, experiment_arm)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                coalesce((select surface from conversation), ''), coalesce((select custom_instructions from conversation), ''),
                coalesce((select experiment_arm from conversation), ''))
            on conflict (turn_id) do nothing
            returning hour, model_id, model_version, capabilities, latency_ms, regenerated_from, surface, custom_instructions, experiment_arm),
        earlier_rating as (select rating from {Ratings} where turn_id = ?),
        counted as (
            select i.hour, i.model_id, i.model_version, cap.name as capability, i.surface, i.custom_instructions, i.experiment_arm,
                coalesce((select (rating in ('up', 'down'))::int from earlier_rating), 0) as rated,
                coalesce((select (rating = 'up')::int from earlier_rating), 0) as up,
                coalesce((select (rating = 'down')::int from earlier_rating), 0) as down,
                (i.regenerated_from is not null)::int as regenerations, i.latency_ms as latency
            from inserted i cross join lateral unnest(i.capabilities || array['{SatisfactionQueries.AllCapabilities}']) as cap(name)),
        sliced as (
            insert into {Cells} as cell (hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm,
                responses, rated, up, down, regenerations, latency_sum)
            select hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm, 1, rated, up, down, regenerations, latency
            from counted
            on conflict (hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm) do update set
                responses = cell.responses + excluded.responses, rated = cell.rated + excluded.rated, up = cell.up + excluded.up,
                down = cell.down + excluded.down, regenerations = cell.regenerations + excluded.regenerations,
                latency_sum = cell.latency_sum + excluded.latency_sum)
        insert into {CellTotals} as cell (hour, model_id, model_version, capability, responses, rated, up, down, regenerations, latency_sum)
        select hour, model_id, model_version, capability, 1, rated, up, down, regenerations, latency from counted
        on conflict (hour, model_id, model_version, capability) do update set
            responses = cell.responses + excluded.responses, rated = cell.rated + excluded.rated, up = cell.up + excluded.up,
            down = cell.down + excluded.down, regenerations = cell.regenerations + excluded.regenerations,
            latency_sum = cell.latency_sum + excluded.latency_sum
        """,
        e.StreamId,
        e.Data.TurnId, e.StreamId, e.Data.OccurredAt.ToUniversalTime(), HourOf(e.Data.OccurredAt), e.Data.Model.Id, e.Data.Model.Version,
        Nullable(e.Data.Model.Variant), e.Data.Capabilities.Distinct().ToArray(), e.Data.TurnIndex, e.Data.LatencyMs,
        Nullable(e.Data.RegeneratedFrom), Nullable(e.Data.PromptExcerpt), Nullable(e.Data.ResponseExcerpt),
        e.Data.TurnId);

    /// <summary>
    /// Replaces the turn's rating if this one is newer, and moves the counts of the response's cells by the
    /// difference (a flip up → down moves one count; a withdrawal removes it). A rating whose response is not
    /// projected yet only updates the rating row: the response counts it when it arrives.
    /// </summary>
    public void Project(IEvent<ResponseRatedRecorded> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"""
        with previous as (select rating from {Ratings} where turn_id = ?),
        upserted as (
            insert into {Ratings} as current (turn_id, conversation_id, occurred_at, rating, reasons, comment, model_id, model_version, capabilities)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?)
            on conflict (turn_id) do update set occurred_at = excluded.occurred_at, rating = excluded.rating, reasons = excluded.reasons,
                comment = excluded.comment, model_id = excluded.model_id, model_version = excluded.model_version, capabilities = excluded.capabilities
            where current.occurred_at <= excluded.occurred_at
            returning rating),
        delta as (
            select (n.rating in ('up', 'down'))::int - coalesce((select (rating in ('up', 'down'))::int from previous), 0) as rated,
                (n.rating = 'up')::int - coalesce((select (rating = 'up')::int from previous), 0) as up,
                (n.rating = 'down')::int - coalesce((select (rating = 'down')::int from previous), 0) as down
            from upserted n),
        response as (select * from {Responses} where turn_id = ?),
        sliced as (
            update {Cells} as cell set rated = cell.rated + d.rated, up = cell.up + d.up, down = cell.down + d.down
            from delta d, response r cross join lateral unnest(r.capabilities || array['{SatisfactionQueries.AllCapabilities}']) as cap(name)
            where cell.hour = r.hour and cell.model_id = r.model_id and cell.model_version = r.model_version and cell.capability = cap.name
                and cell.surface = r.surface and cell.custom_instructions = r.custom_instructions and cell.experiment_arm = r.experiment_arm)
        update {CellTotals} as cell set rated = cell.rated + d.rated, up = cell.up + d.up, down = cell.down + d.down
        from delta d, response r cross join lateral unnest(r.capabilities || array['{SatisfactionQueries.AllCapabilities}']) as cap(name)
        where cell.hour = r.hour and cell.model_id = r.model_id and cell.model_version = r.model_version and cell.capability = cap.name
        """,
        e.Data.TurnId,
        e.Data.TurnId, e.StreamId, e.Data.OccurredAt.ToUniversalTime(), Wire(e.Data.Rating), Wire(e.Data.Reasons),
        Nullable(e.Data.Comment), e.Data.Model.Id, e.Data.Model.Version, e.Data.Capabilities.Distinct().ToArray(),
        e.Data.TurnId);

    public void Project(IEvent<ResponsesComparedRecorded> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"""
        insert into {Comparisons} as current (comparison_id, conversation_id, occurred_at, hour, a_turn_id, a_model_id, a_model_version,
            b_turn_id, b_model_id, b_model_version, preferred, capabilities, reasons)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        on conflict (comparison_id) do update set occurred_at = excluded.occurred_at, preferred = excluded.preferred, reasons = excluded.reasons
        where current.occurred_at <= excluded.occurred_at
        """,
        e.Data.ComparisonId, e.StreamId, e.Data.OccurredAt.ToUniversalTime(), HourOf(e.Data.OccurredAt),
        e.Data.Candidates[0].TurnId, e.Data.Candidates[0].Model.Id, e.Data.Candidates[0].Model.Version,
        e.Data.Candidates[1].TurnId, e.Data.Candidates[1].Model.Id, e.Data.Candidates[1].Model.Version,
        Wire(e.Data.Preferred), e.Data.Capabilities.Distinct().ToArray(), Wire(e.Data.Reasons));
}
