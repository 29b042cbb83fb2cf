using Analytics.Conversations;
using Analytics.Satisfaction;
using Weasel.Postgresql.Tables;

namespace Analytics.Comparisons;

/// <summary>
/// The side-by-side outcome counters (sat_pair_counts) that the comparison queries read: the table, and the part of
/// the satisfaction page statement (<see cref="SatisfactionPageSql"/>) that moves them. The statement defines
/// new_comparisons (the comparisons the page inserted or updated) and stored_comparisons (their rows before it).
/// </summary>
public static class ComparisonPairCounts
{
    public const string Table = EventStoreRegistration.SchemaName + ".sat_pair_counts";

    public static Weasel.Postgresql.Tables.Table Definition()
    {
        // Side-by-side outcomes per capability ("*": every comparison once) × hour × unordered model pair ("id@version";
        // model_x sorts first): wins of each side, ties, both bad, by each comparison's current preference. A comparison
        // never changes its key (its first copy sets hour, capabilities and candidates), so a row never returns to zero.
        var pairs = new Weasel.Postgresql.Tables.Table(Table);
        pairs.AddColumn<string>("capability").AsPrimaryKey();
        pairs.AddColumn<DateTimeOffset>("hour").AsPrimaryKey();
        pairs.AddColumn<string>("model_x").AsPrimaryKey();
        pairs.AddColumn<string>("model_y").AsPrimaryKey();
        foreach (var counter in new[] { "x_wins", "y_wins", "ties", "both_bad" })
        {
            pairs.AddColumn<long>(counter).NotNull().DefaultValueByExpression("0");
        }

        return pairs;
    }

    /// <summary>The CTEs pair_moves, pair_deltas and pairs_moved of the page statement, each followed by a comma.</summary>
    internal static readonly string MovesSql = $"""
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
            insert into {Table} as cell (capability, hour, model_x, model_y, x_wins, y_wins, ties, both_bad)
            select capability, hour, model_x, model_y, x_wins, y_wins, ties, both_bad
            from pair_deltas
            where x_wins <> 0 or y_wins <> 0 or ties <> 0 or both_bad <> 0
            on conflict (capability, hour, model_x, model_y) do update set x_wins = cell.x_wins + excluded.x_wins,
                y_wins = cell.y_wins + excluded.y_wins, ties = cell.ties + excluded.ties, both_bad = cell.both_bad + excluded.both_bad),
        """;
}
