using Analytics.Comparisons;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>Independent recounts straight from mt_events' JSON, to hold the views and the API to.</summary>
public static class EventStoreRecount
{
    /// <summary>
    /// Side-by-side outcomes per unordered model pair ("id@version", A sorts first): the first copy's candidates, the
    /// latest preference (stored preferences are enum member names), ordered by the pair.
    /// </summary>
    public static async Task<List<PairOutcome>> PairsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            with firsts as (
                select distinct on (data->>'comparisonId') data->>'comparisonId' as id,
                    data->'candidates'->0->'model'->>'id' || '@' || (data->'candidates'->0->'model'->>'version') collate "C" as a,
                    data->'candidates'->1->'model'->>'id' || '@' || (data->'candidates'->1->'model'->>'version') collate "C" as b
                from analytics.mt_events where type = 'responses_compared_recorded' order by data->>'comparisonId', seq_id),
            latest as (
                select distinct on (data->>'comparisonId') data->>'comparisonId' as id, data->>'preferred' as preferred
                from analytics.mt_events where type = 'responses_compared_recorded'
                order by data->>'comparisonId', (data->>'occurredAt')::timestamptz desc, seq_id desc)
            select least(f.a, f.b), greatest(f.a, f.b),
                count(*) filter (where l.preferred in ('A', 'B') and (l.preferred = 'A') = (f.a <= f.b)),
                count(*) filter (where l.preferred in ('A', 'B') and (l.preferred = 'A') <> (f.a <= f.b)),
                count(*) filter (where l.preferred = 'Tie'), count(*) filter (where l.preferred = 'BothBad')
            from firsts f join latest l on l.id = f.id
            where f.a <> f.b
            group by 1, 2 order by 1, 2
            """, connection);
        var pairs = new List<PairOutcome>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pairs.Add(new PairOutcome(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }

        return pairs;
    }
}
