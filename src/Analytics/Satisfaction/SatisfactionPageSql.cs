using Analytics.Comparisons;
using static Analytics.Satisfaction.SatisfactionTables;

namespace Analytics.Satisfaction;

/// <summary>
/// The SQL of <see cref="SatisfactionProjection"/>: the page statement (its inputs from <see cref="SatisfactionPageColumns"/>,
/// then <see cref="Tail"/>, which <see cref="SatisfactionRebuild"/> runs over rows folded from mt_events), and the
/// clean-up of counter rows a page brought back to zero.
/// </summary>
public static class SatisfactionPageSql
{
    /// <summary>
    /// Deletes the counter rows that a page brought back to zero: reason counters of a down flipped or withdrawn, and the
    /// cells of ratings counted without their response once the response came (they move to the response's cell) or were
    /// withdrawn. A page that holds both never writes the row, so without this the tables would depend on where pages begin.
    /// Reads the partial indexes of zero rows only (a cell with a response never returns to zero).
    /// </summary>
    internal static readonly string DeleteSpentRows = $"""
        with spent_cells as (delete from {SatisfactionProjection.Cells} where {SpentCell}),
            spent_totals as (delete from {SatisfactionProjection.CellTotals} where {SpentCell}),
            spent_days as (delete from {SatisfactionProjection.CellDays} where {SpentCell})
        delete from {SatisfactionProjection.CellReasons} where down = 0
        """;

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
    public static readonly string Page = SatisfactionPageColumns.InputsSql + "\n" + Tail(ratedWithoutResponse: "?::uuid[]", touched: "?::uuid[]");

    /// <summary>
    /// Column lists of the four input row sets the statement reads, in order: conversation_rows, response_rows,
    /// rating_rows and comparison_rows (lists joined with <see cref="SatisfactionPageColumns.ListSeparator"/>, timestamps at
    /// microsecond precision). <see cref="SatisfactionRebuild"/> produces the same rows from mt_events.
    /// </summary>
    internal static string Tail(string ratedWithoutResponse, string touched) => $"""
        new_conversations as (
            insert into {SatisfactionProjection.Conversations} (conversation_id, started_at, surface, locale, custom_instructions, experiment_id, experiment_arm)
            select * from conversation_rows
            on conflict (conversation_id) do nothing),
        stored_comparisons as (
            select comparison_id, hour, capabilities, a_model_id, a_model_version, b_model_id, b_model_version, preferred
            from {SatisfactionProjection.Comparisons} where comparison_id = any(array(select comparison_id from comparison_rows))),
        new_comparisons as (
            insert into {SatisfactionProjection.Comparisons} as current (comparison_id, conversation_id, occurred_at, hour, a_turn_id, a_model_id, a_model_version,
                b_turn_id, b_model_id, b_model_version, preferred, capabilities, reasons)
            select comparison_id, conversation_id, occurred_at, hour, a_turn_id, a_model_id, a_model_version, b_turn_id, b_model_id,
                b_model_version, preferred, string_to_array(capabilities, {SatisfactionPageColumns.ListSeparatorSql}), string_to_array(reasons, {SatisfactionPageColumns.ListSeparatorSql})
            from comparison_rows
            on conflict (comparison_id) do update set occurred_at = excluded.occurred_at, preferred = excluded.preferred, reasons = excluded.reasons
            where current.occurred_at <= excluded.occurred_at
            returning comparison_id, hour, capabilities, a_model_id, a_model_version, b_model_id, b_model_version, preferred),
        {ComparisonPairCounts.MovesSql}
        new_responses as (
            insert into {SatisfactionProjection.Responses} (turn_id, conversation_id, occurred_at, hour, model_id, model_version, model_variant, capabilities,
                turn_index, latency_ms, regenerated_from, prompt_excerpt, response_excerpt, surface, custom_instructions, experiment_arm)
            select p.turn_id, p.conversation_id, p.occurred_at, p.hour, p.model_id, p.model_version, p.model_variant,
                string_to_array(p.capabilities, {SatisfactionPageColumns.ListSeparatorSql}), p.turn_index, p.latency_ms, p.regenerated_from::uuid, p.prompt_excerpt,
                p.response_excerpt,
                case when c.conversation_id is null then coalesce(p.page_surface, '') else c.surface end,
                case when c.conversation_id is null then coalesce(p.page_custom_instructions, '') else c.custom_instructions::text end,
                case when c.conversation_id is null then coalesce(p.page_experiment_arm, '') else coalesce(c.experiment_arm, '') end
            from response_rows p left join {SatisfactionProjection.Conversations} c on c.conversation_id = p.conversation_id
            on conflict (turn_id) do nothing
            returning turn_id, hour, model_id, model_version, capabilities, surface, custom_instructions, experiment_arm, latency_ms, regenerated_from),
        -- The stored responses of the turns rated in the page without their response, and of the page's responses that were
        -- already stored (a duplicate: not inserted above). Probing only those, not every response of the page, keeps this to
        -- a few index lookups (the scan sees the table as it was before the statement either way).
        stored_responses as (
            select turn_id, hour, model_id, model_version, capabilities, surface, custom_instructions, experiment_arm
            from {SatisfactionProjection.Responses}
            where turn_id = any({ratedWithoutResponse})
                or turn_id = any(array(select turn_id from response_rows except select turn_id from new_responses))),
        stored_ratings as (
            select turn_id, rating, reasons, {RatingHour} as hour, model_id, model_version, capabilities
            from {SatisfactionProjection.Ratings} where turn_id = any({touched})),
        new_ratings as (
            insert into {SatisfactionProjection.Ratings} as current (turn_id, conversation_id, occurred_at, rating, reasons, comment, model_id, model_version, capabilities)
            select turn_id, conversation_id, occurred_at, rating, string_to_array(reasons, {SatisfactionPageColumns.ListSeparatorSql}), comment, model_id, model_version,
                string_to_array(capabilities, {SatisfactionPageColumns.ListSeparatorSql})
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
            select hour_before, model_id_before, model_version_before, capabilities_before, '{SatisfactionProjection.Unknown}', '{SatisfactionProjection.Unknown}', '{SatisfactionProjection.Unknown}', 0, 0, 0,
                null, null, rating_before, reasons_before, false
            from counted where not had_response and rating_before in ('up', 'down')
            union all
            select hour_after, model_id_after, model_version_after, capabilities_after, '{SatisfactionProjection.Unknown}', '{SatisfactionProjection.Unknown}', '{SatisfactionProjection.Unknown}', 0, 0, 0,
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
            insert into {SatisfactionProjection.CellReasons} as cell (model_id, capability, hour, model_version, reason, down)
            select model_id, capability, hour, model_version, reason, down from reason_deltas
            on conflict (model_id, capability, hour, model_version, reason) do update set down = cell.down + excluded.down),
        -- The counters per sliced cell, then the unsliced hourly and daily counters from those sums (fewer rows to group
        -- than the deltas: a response with two capabilities has three delta rows).
        sliced_sums as (
            select hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm, {SummedDeltas}
            from deltas group by hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm),
        sliced as (
            insert into {SatisfactionProjection.Cells} as cell (hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm, {Counters})
            select * from sliced_sums
            where {NonZeroRow}
            on conflict (hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm) do update set
                {AddCounters}),
        hourly_sums as (
            select hour, model_id, model_version, capability, {SummedSums}
            from sliced_sums group by hour, model_id, model_version, capability),
        daily as (
            insert into {SatisfactionProjection.CellDays} as cell (day, model_id, model_version, capability, {Counters})
            select date_trunc('day', hour at time zone 'UTC') at time zone 'UTC', model_id, model_version, capability, {SummedSums}
            from hourly_sums group by 1, model_id, model_version, capability
            {NonZero}
            on conflict (day, model_id, model_version, capability) do update set
                {AddCounters})
        insert into {SatisfactionProjection.CellTotals} as cell (hour, model_id, model_version, capability, {Counters})
        select * from hourly_sums
        where {NonZeroRow}
        on conflict (hour, model_id, model_version, capability) do update set
            {AddCounters}
        """;
}
