using Analytics.Contracts;
using Analytics.Conversations;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;
using Weasel.Postgresql.Tables;

namespace Analytics.Satisfaction;

/// <summary>
/// Async projection of conversation streams into plain SQL tables (schema analytics, prefix sat_) that the
/// API and Grafana query with ordinary SQL. Every write is an upsert keyed by the fact's own id, so a replay
/// or a rebuild gives the same rows. A later rating of a turn replaces the earlier one (the latest
/// occurredAt wins; on a tie the later event in the store wins); "none" withdraws it. A thumbs up or down counts in
/// satisfaction whether its response came before it, comes after it or never: without its response, under the model
/// and capabilities the rating carries, in the hour it occurred, slice unknown; once the response is there, in the
/// response's cell (it moves, it is not counted twice). The rating rate (rated among responses) counts only ratings
/// of responses that are there.
/// <para>
/// The daemon hands over a page of events at a time (<see cref="PageSize"/>); the page is folded in memory
/// (<see cref="SatisfactionPage"/>) and written by one set-based statement that reads the prior state of the
/// touched rows and moves each counter by the difference between the touched turns' contributions after and
/// before the page (a response counts its current rating; a flip or a withdrawal moves the counts).
/// </para>
/// </summary>
public sealed class SatisfactionProjection : EventProjection, IJasperFxProjection<IDocumentOperations>
{
    /// <summary>Events per daemon page (Marten's default is 500): one statement per page; the rebuild pays a progression update and a few round trips per page.</summary>
    public const int PageSize = 10_000;

    public const string Conversations = EventStoreRegistration.SchemaName + ".sat_conversations";
    public const string Responses = EventStoreRegistration.SchemaName + ".sat_responses";
    public const string Ratings = EventStoreRegistration.SchemaName + ".sat_ratings";
    public const string Comparisons = EventStoreRegistration.SchemaName + ".sat_comparisons";
    public const string Cells = EventStoreRegistration.SchemaName + ".sat_cells";
    public const string CellTotals = EventStoreRegistration.SchemaName + ".sat_cell_totals";
    public const string CellDays = EventStoreRegistration.SchemaName + ".sat_cell_days";
    public const string CellReasons = EventStoreRegistration.SchemaName + ".sat_cell_reasons";
    public const string PairCounts = EventStoreRegistration.SchemaName + ".sat_pair_counts";

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

        cells.Indexes.Add(new IndexDefinition("ix_sat_cells_spent") { Columns = ["model_id"], Predicate = SpentCell });

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

        totals.Indexes.Add(new IndexDefinition("ix_sat_cell_totals_spent") { Columns = ["model_id"], Predicate = SpentCell });

        // The unsliced counters again per UTC day, so that a window of weeks reads days (plus the hours of its partial
        // first and last day) rather than every hour.
        var days = new Table(CellDays);
        days.AddColumn<DateTimeOffset>("day").AsPrimaryKey();
        days.AddColumn<string>("model_id").AsPrimaryKey();
        days.AddColumn<string>("model_version").AsPrimaryKey();
        days.AddColumn<string>("capability").AsPrimaryKey();
        foreach (var counter in new[] { "responses", "rated", "up", "down", "regenerations", "latency_sum" })
        {
            days.AddColumn<long>(counter).NotNull().DefaultValueByExpression("0");
        }

        days.Indexes.Add(new IndexDefinition("ix_sat_cell_days_spent") { Columns = ["model_id"], Predicate = SpentCell });

        // Thumbs-down reasons per unsliced cell and hour: how many turns of the cell are currently rated down with that
        // reason (a down with two reasons counts under both; a flip or a withdrawal takes it out again). Keyed for the
        // reasons query: one model and capability over a range of hours. Rows that reach zero are deleted after each page
        // (DeleteSpentRows), so the table is the same whatever the page boundaries.
        var reasons = new Table(CellReasons);
        reasons.AddColumn<string>("model_id").AsPrimaryKey();
        reasons.AddColumn<string>("capability").AsPrimaryKey();
        reasons.AddColumn<DateTimeOffset>("hour").AsPrimaryKey();
        reasons.AddColumn<string>("model_version").AsPrimaryKey();
        reasons.AddColumn<string>("reason").AsPrimaryKey();
        reasons.AddColumn<long>("down").NotNull().DefaultValueByExpression("0");
        reasons.Indexes.Add(new IndexDefinition("ix_sat_cell_reasons_spent") { Columns = ["model_id"], Predicate = "down = 0" });

        // Side-by-side outcomes per capability ("*": every comparison once) × hour × unordered model pair ("id@version";
        // model_x sorts first): wins of each side, ties, both bad, by each comparison's current preference. A comparison
        // never changes its key (its first copy sets hour, capabilities and candidates), so a row never returns to zero.
        var pairs = new Table(PairCounts);
        pairs.AddColumn<string>("capability").AsPrimaryKey();
        pairs.AddColumn<DateTimeOffset>("hour").AsPrimaryKey();
        pairs.AddColumn<string>("model_x").AsPrimaryKey();
        pairs.AddColumn<string>("model_y").AsPrimaryKey();
        foreach (var counter in new[] { "x_wins", "y_wins", "ties", "both_bad" })
        {
            pairs.AddColumn<long>(counter).NotNull().DefaultValueByExpression("0");
        }

        IncludeType<ConversationStartedRecorded>();
        IncludeType<ResponseGeneratedRecorded>();
        IncludeType<ResponseRatedRecorded>();
        IncludeType<ResponsesComparedRecorded>();
        Options.BatchSize = PageSize;
        Options.MaximumHopperSize = 4 * PageSize;

        foreach (var table in new[] { conversations, responses, ratings, comparisons, cells, totals, days, reasons, pairs })
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

    /// <summary>The page-level entry point the async daemon calls (the base class would apply events one by one).</summary>
    Task IJasperFxProjection<IDocumentOperations>.ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events,
        CancellationToken cancellation)
    {
        using var span = SatisfactionTracing.StartPage(events);
        Queue(operations, events);
        return Task.CompletedTask;
    }

    /// <summary>One event at a time (inline use): a page of one.</summary>
    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        Queue(operations, [e]);
        return ValueTask.CompletedTask;
    }

    private static void Queue(IDocumentOperations operations, IReadOnlyList<IEvent> events)
    {
        object[]? parameters;
        try
        {
            var page = new SatisfactionPage(events);
            parameters = page.IsEmpty ? null : page.Parameters();
        }
        catch (Exception pageFailure) when (FirstUnfoldable(events) is { } poison)
        {
            // A page is folded as a whole, so one event that breaks the fold would stop the shard. Find the first
            // such event and report it the way Marten reports an event projection's poison pill: the daemon
            // (SkipApplyErrors, on in continuous mode) records it in mt_doc_deadletterevent, skips its sequence and
            // hands the rest of the page back to this method. Nothing else of the page is lost.
            throw new ApplyEventException(poison, pageFailure);
        }

        if (parameters is not null)
        {
            operations.QueueSqlCommand(PageSql, parameters);
            operations.QueueSqlCommand(DeleteSpentRows);
        }
    }

    private static IEvent? FirstUnfoldable(IReadOnlyList<IEvent> events)
    {
        foreach (var e in events)
        {
            try
            {
                var single = new SatisfactionPage([e]);
                if (!single.IsEmpty)
                {
                    _ = single.Parameters();
                }
            }
            catch (Exception)
            {
                return e;
            }
        }

        return null;
    }

    /// <summary>
    /// Deletes the counter rows that a page brought back to zero: reason counters of a down flipped or withdrawn, and the
    /// cells of ratings counted without their response once the response came (they move to the response's cell) or were
    /// withdrawn. A page that holds both never writes the row, so without this the tables would depend on where pages begin.
    /// Reads the partial indexes of zero rows only (a cell with a response never returns to zero).
    /// </summary>
    internal static readonly string DeleteSpentRows = $"""
        with spent_cells as (delete from {Cells} where {SpentCell}),
            spent_totals as (delete from {CellTotals} where {SpentCell}),
            spent_days as (delete from {CellDays} where {SpentCell})
        delete from {CellReasons} where down = 0
        """;

    /// <summary>A counter row that counts nothing (regenerations and latency only move with responses).</summary>
    private const string SpentCell = "responses = 0 and rated = 0 and up = 0 and down = 0";

    /// <summary>The hour a rating counts in while its response is not there: the hour it occurred (UTC).</summary>
    private const string RatingHour = "date_trunc('hour', occurred_at at time zone 'UTC') at time zone 'UTC'";

    private const string Counters = "responses, rated, up, down, regenerations, latency_sum";

    private const string AddCounters = """
        responses = cell.responses + excluded.responses, rated = cell.rated + excluded.rated, up = cell.up + excluded.up,
            down = cell.down + excluded.down, regenerations = cell.regenerations + excluded.regenerations,
            latency_sum = cell.latency_sum + excluded.latency_sum
        """;

    private const string SummedDeltas = """
        sum(responses) as responses, sum(rated) as rated, sum(up) as up, sum(down) as down, sum(regenerations) as regenerations,
            sum(latency) as latency
        """;

    /// <summary>Sums of sums (bigint), kept bigint rather than numeric.</summary>
    private const string SummedSums = """
        sum(responses)::bigint as responses, sum(rated)::bigint as rated, sum(up)::bigint as up, sum(down)::bigint as down,
            sum(regenerations)::bigint as regenerations, sum(latency)::bigint as latency
        """;

    private const string NonZeroRow = "responses <> 0 or rated <> 0 or up <> 0 or down <> 0";

    private const string NonZero = """
        having sum(responses) <> 0 or sum(rated) <> 0 or sum(up) <> 0 or sum(down) <> 0
        """;

    /// <summary>
    /// The whole page in one statement. Every part reads the state before the statement (one snapshot), so the
    /// counters move by (contribution after the page) − (contribution before it) per touched turn: a stored
    /// response contributes its stored rating before and the resulting rating after; a new response contributes
    /// one response, its regeneration and latency, and the resulting rating (which may have arrived before it).
    /// Parameters: see <see cref="SatisfactionPage.Parameters"/>.
    /// </summary>
    private static readonly string PageSql = PageInputs + "\n" + Tail(ratedWithoutResponse: "?::uuid[]", touched: "?::uuid[]");

    /// <summary>The page's folded rows, from the statement's array parameters.</summary>
    private const string PageInputs = """
        with conversation_rows as (
            select * from unnest(?::uuid[], ?::timestamptz[], ?::text[], ?::text[], ?::bool[], ?::text[], ?::text[])
                as t(conversation_id, started_at, surface, locale, custom_instructions, experiment_id, experiment_arm)),
        response_rows as (
            select * from unnest(?::uuid[], ?::uuid[], ?::timestamptz[], ?::timestamptz[], ?::text[], ?::text[], ?::text[], ?::text[],
                    ?::int[], ?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
                as t(turn_id, conversation_id, occurred_at, hour, model_id, model_version, model_variant, capabilities, turn_index,
                    latency_ms, regenerated_from, prompt_excerpt, response_excerpt, page_surface, page_custom_instructions, page_experiment_arm)),
        rating_rows as (
            select * from unnest(?::uuid[], ?::uuid[], ?::timestamptz[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
                as t(turn_id, conversation_id, occurred_at, rating, reasons, comment, model_id, model_version, capabilities)),
        comparison_rows as (
            select * from unnest(?::uuid[], ?::uuid[], ?::timestamptz[], ?::timestamptz[], ?::uuid[], ?::text[], ?::text[], ?::uuid[],
                    ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
                as t(comparison_id, conversation_id, occurred_at, hour, a_turn_id, a_model_id, a_model_version, b_turn_id, b_model_id,
                    b_model_version, preferred, capabilities, reasons)),
        """;

    /// <summary>
    /// Column lists of the four input row sets the statement reads, in order: conversation_rows, response_rows,
    /// rating_rows and comparison_rows (lists joined with <see cref="SatisfactionPage.ListSeparator"/>, timestamps at
    /// microsecond precision). <see cref="SatisfactionRebuild"/> produces the same rows from mt_events.
    /// </summary>
    internal static string Tail(string ratedWithoutResponse, string touched) => $"""
        new_conversations as (
            insert into {Conversations} (conversation_id, started_at, surface, locale, custom_instructions, experiment_id, experiment_arm)
            select * from conversation_rows
            on conflict (conversation_id) do nothing),
        stored_comparisons as (
            select comparison_id, hour, capabilities, a_model_id, a_model_version, b_model_id, b_model_version, preferred
            from {Comparisons} where comparison_id = any(array(select comparison_id from comparison_rows))),
        new_comparisons as (
            insert into {Comparisons} as current (comparison_id, conversation_id, occurred_at, hour, a_turn_id, a_model_id, a_model_version,
                b_turn_id, b_model_id, b_model_version, preferred, capabilities, reasons)
            select comparison_id, conversation_id, occurred_at, hour, a_turn_id, a_model_id, a_model_version, b_turn_id, b_model_id,
                b_model_version, preferred, string_to_array(capabilities, chr(31)), string_to_array(reasons, chr(31))
            from comparison_rows
            on conflict (comparison_id) do update set occurred_at = excluded.occurred_at, preferred = excluded.preferred, reasons = excluded.reasons
            where current.occurred_at <= excluded.occurred_at
            returning comparison_id, hour, capabilities, a_model_id, a_model_version, b_model_id, b_model_version, preferred),
        -- Pair outcomes: a comparison the page inserted or updated counts its preference after the page (+1) and, when it was
        -- stored before, no longer its preference before (-1). A stale copy (not updated) moves nothing.
        pair_moves as (
            select hour, capabilities, a_model_id || '@' || a_model_version as a, b_model_id || '@' || b_model_version as b, preferred, 1 as n
            from new_comparisons
            union all
            select s.hour, s.capabilities, s.a_model_id || '@' || s.a_model_version, s.b_model_id || '@' || s.b_model_version, s.preferred, -1
            from stored_comparisons s where s.comparison_id = any(array(select comparison_id from new_comparisons))),
        pair_deltas as (
            select cap.name as capability, m.hour, least(m.a, m.b) as model_x, greatest(m.a, m.b) as model_y,
                coalesce(sum(m.n) filter (where m.preferred not in ('tie', 'both_bad') and (m.preferred = 'a') = (m.a <= m.b)), 0) as x_wins,
                coalesce(sum(m.n) filter (where m.preferred not in ('tie', 'both_bad') and (m.preferred = 'a') <> (m.a <= m.b)), 0) as y_wins,
                coalesce(sum(m.n) filter (where m.preferred = 'tie'), 0) as ties,
                coalesce(sum(m.n) filter (where m.preferred = 'both_bad'), 0) as both_bad
            from pair_moves m
            cross join lateral unnest(m.capabilities || array['{SatisfactionQueries.AllCapabilities}']) as cap(name)
            where m.a <> m.b
            group by cap.name, m.hour, least(m.a, m.b), greatest(m.a, m.b)),
        pairs_moved as (
            insert into {PairCounts} as cell (capability, hour, model_x, model_y, x_wins, y_wins, ties, both_bad)
            select capability, hour, model_x, model_y, x_wins, y_wins, ties, both_bad
            from pair_deltas
            where x_wins <> 0 or y_wins <> 0 or ties <> 0 or both_bad <> 0
            on conflict (capability, hour, model_x, model_y) do update set x_wins = cell.x_wins + excluded.x_wins,
                y_wins = cell.y_wins + excluded.y_wins, ties = cell.ties + excluded.ties, both_bad = cell.both_bad + excluded.both_bad),
        new_responses as (
            insert into {Responses} (turn_id, conversation_id, occurred_at, hour, model_id, model_version, model_variant, capabilities,
                turn_index, latency_ms, regenerated_from, prompt_excerpt, response_excerpt, surface, custom_instructions, experiment_arm)
            select p.turn_id, p.conversation_id, p.occurred_at, p.hour, p.model_id, p.model_version, p.model_variant,
                string_to_array(p.capabilities, chr(31)), p.turn_index, p.latency_ms, p.regenerated_from::uuid, p.prompt_excerpt,
                p.response_excerpt,
                case when c.conversation_id is null then coalesce(p.page_surface, '') else c.surface end,
                case when c.conversation_id is null then coalesce(p.page_custom_instructions, '') else c.custom_instructions::text end,
                case when c.conversation_id is null then coalesce(p.page_experiment_arm, '') else coalesce(c.experiment_arm, '') end
            from response_rows p left join {Conversations} c on c.conversation_id = p.conversation_id
            on conflict (turn_id) do nothing
            returning turn_id, hour, model_id, model_version, capabilities, surface, custom_instructions, experiment_arm, latency_ms, regenerated_from),
        -- The stored responses of the turns rated in the page without their response, and of the page's responses that were
        -- already stored (a duplicate: not inserted above). Probing only those, not every response of the page, keeps this to
        -- a few index lookups (the scan sees the table as it was before the statement either way).
        stored_responses as (
            select turn_id, hour, model_id, model_version, capabilities, surface, custom_instructions, experiment_arm
            from {Responses}
            where turn_id = any({ratedWithoutResponse})
                or turn_id = any(array(select turn_id from response_rows except select turn_id from new_responses))),
        stored_ratings as (
            select turn_id, rating, reasons, {RatingHour} as hour, model_id, model_version, capabilities
            from {Ratings} where turn_id = any({touched})),
        new_ratings as (
            insert into {Ratings} as current (turn_id, conversation_id, occurred_at, rating, reasons, comment, model_id, model_version, capabilities)
            select turn_id, conversation_id, occurred_at, rating, string_to_array(reasons, chr(31)), comment, model_id, model_version,
                string_to_array(capabilities, chr(31))
            from rating_rows
            on conflict (turn_id) do update set occurred_at = excluded.occurred_at, rating = excluded.rating, reasons = excluded.reasons,
                comment = excluded.comment, model_id = excluded.model_id, model_version = excluded.model_version, capabilities = excluded.capabilities
            where current.occurred_at <= excluded.occurred_at
            returning turn_id, rating, reasons, {RatingHour} as hour, model_id, model_version, capabilities),
        -- One row per touched turn, by grouping rather than joining (the row estimates of array parameters are guesses,
        -- and a join planned for 10 rows that meets thousands is quadratic): its response (stored before the statement, or
        -- new), its rating before and after the page, and where each rating counts while the turn has no response.
        counted as (
            select coalesce(bool_or(is_new), false) as is_new, bool_or(source = 'response') as has_response,
                coalesce(bool_or(source = 'response' and not is_new), false) as had_response,
                max(hour) filter (where source = 'response') as hour, max(model_id) filter (where source = 'response') as model_id,
                max(model_version) filter (where source = 'response') as model_version,
                max(capabilities) filter (where source = 'response') as capabilities, max(surface) as surface,
                max(custom_instructions) as custom_instructions, max(experiment_arm) as experiment_arm, max(regenerations) as regenerations,
                max(latency) as latency,
                max(rating) filter (where source = 'stored') as rating_before,
                max(reasons) filter (where source = 'stored') as reasons_before,
                max(hour) filter (where source = 'stored') as hour_before, max(model_id) filter (where source = 'stored') as model_id_before,
                max(model_version) filter (where source = 'stored') as model_version_before,
                max(capabilities) filter (where source = 'stored') as capabilities_before,
                coalesce(max(rating) filter (where source = 'new'), max(rating) filter (where source = 'stored')) as rating_after,
                case when bool_or(source = 'new') then max(reasons) filter (where source = 'new')
                     else max(reasons) filter (where source = 'stored') end as reasons_after,
                coalesce(max(hour) filter (where source = 'new'), max(hour) filter (where source = 'stored')) as hour_after,
                case when bool_or(source = 'new') then max(model_id) filter (where source = 'new')
                     else max(model_id) filter (where source = 'stored') end as model_id_after,
                case when bool_or(source = 'new') then max(model_version) filter (where source = 'new')
                     else max(model_version) filter (where source = 'stored') end as model_version_after,
                case when bool_or(source = 'new') then max(capabilities) filter (where source = 'new')
                     else max(capabilities) filter (where source = 'stored') end as capabilities_after
            from (
                select turn_id, false as is_new, hour, model_id, model_version, capabilities, surface, custom_instructions, experiment_arm,
                    0 as regenerations, 0 as latency, null::text as rating, null::text[] as reasons, 'response' as source
                from stored_responses
                union all
                select turn_id, true, hour, model_id, model_version, capabilities, surface, custom_instructions, experiment_arm,
                    (regenerated_from is not null)::int, latency_ms, null, null, 'response'
                from new_responses
                union all
                select turn_id, null, hour, model_id, model_version, capabilities, null, null, null, null, null, rating, reasons, 'stored'
                from stored_ratings
                union all
                select turn_id, null, hour, model_id, model_version, capabilities, null, null, null, null, null, rating, reasons, 'new'
                from new_ratings) facts
            group by turn_id),
        -- What each touched turn moves, in the cells it counts in. With its response (stored or new): the response's cell, which
        -- counts the response when it is new and the rating after the page, less the rating before the page when the response
        -- was stored before (a rating that came before its response counted elsewhere, below). Without its response, a thumbs
        -- up or down counts in satisfaction (up and down, not rated: its rate is among responses) under the model and
        -- capabilities the rating carries, in the hour it occurred, slice unknown: before the page (taken out) and after it.
        moves as (
            select hour, model_id, model_version, capabilities, surface, custom_instructions, experiment_arm, is_new::int as responses,
                regenerations, latency, rating_after as rating_plus, reasons_after as reasons_plus,
                case when had_response then rating_before end as rating_minus, case when had_response then reasons_before end as reasons_minus,
                true as with_response
            from counted where has_response
            union all
            select hour_before, model_id_before, model_version_before, capabilities_before, '{Unknown}', '{Unknown}', '{Unknown}', 0, 0, 0,
                null, null, rating_before, reasons_before, false
            from counted where not had_response and rating_before in ('up', 'down')
            union all
            select hour_after, model_id_after, model_version_after, capabilities_after, '{Unknown}', '{Unknown}', '{Unknown}', 0, 0, 0,
                rating_after, reasons_after, null, null, false
            from counted where not has_response and rating_after in ('up', 'down')),
        deltas as (
            select m.hour, m.model_id, m.model_version, cap.name as capability, m.surface, m.custom_instructions, m.experiment_arm,
                m.responses,
                case when m.with_response
                    then coalesce((m.rating_plus in ('up', 'down'))::int, 0) - coalesce((m.rating_minus in ('up', 'down'))::int, 0)
                    else 0 end as rated,
                coalesce((m.rating_plus = 'up')::int, 0) - coalesce((m.rating_minus = 'up')::int, 0) as up,
                coalesce((m.rating_plus = 'down')::int, 0) - coalesce((m.rating_minus = 'down')::int, 0) as down,
                m.regenerations, m.latency
            from moves m cross join lateral unnest(m.capabilities || array['{SatisfactionQueries.AllCapabilities}']) as cap(name)),
        -- Thumbs-down reasons: each reason of a down moved in counts +1, each of a down moved out -1, in every capability cell
        -- and in the model total.
        reason_deltas as (
            select m.hour, m.model_id, m.model_version, cap.name as capability, moved.reason, sum(moved.down) as down
            from moves m
            cross join lateral unnest(m.capabilities || array['{SatisfactionQueries.AllCapabilities}']) as cap(name)
            cross join lateral (
                select reason, 1 as down from unnest(case when m.rating_plus = 'down' then m.reasons_plus end) as reason
                union all
                select reason, -1 from unnest(case when m.rating_minus = 'down' then m.reasons_minus end) as reason) moved
            group by m.hour, m.model_id, m.model_version, cap.name, moved.reason
            having sum(moved.down) <> 0),
        reasons_moved as (
            insert into {CellReasons} as cell (model_id, capability, hour, model_version, reason, down)
            select model_id, capability, hour, model_version, reason, down from reason_deltas
            on conflict (model_id, capability, hour, model_version, reason) do update set down = cell.down + excluded.down),
        -- The counters per sliced cell, then the unsliced hourly and daily counters from those sums (fewer rows to group
        -- than the deltas: a response with two capabilities has three delta rows).
        sliced_sums as (
            select hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm, {SummedDeltas}
            from deltas group by hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm),
        sliced as (
            insert into {Cells} as cell (hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm, {Counters})
            select * from sliced_sums
            where {NonZeroRow}
            on conflict (hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm) do update set
                {AddCounters}),
        hourly_sums as (
            select hour, model_id, model_version, capability, {SummedSums}
            from sliced_sums group by hour, model_id, model_version, capability),
        daily as (
            insert into {CellDays} as cell (day, model_id, model_version, capability, {Counters})
            select date_trunc('day', hour at time zone 'UTC') at time zone 'UTC', model_id, model_version, capability, {SummedSums}
            from hourly_sums group by 1, model_id, model_version, capability
            {NonZero}
            on conflict (day, model_id, model_version, capability) do update set
                {AddCounters})
        insert into {CellTotals} as cell (hour, model_id, model_version, capability, {Counters})
        select * from hourly_sums
        where {NonZeroRow}
        on conflict (hour, model_id, model_version, capability) do update set
            {AddCounters}
        """;
}
