using Analytics.Conversations;
using Analytics.Satisfaction;
using Npgsql;

// The namespace the test projects and the benchmarks have always used for this type: their files keep compiling unchanged.
namespace Analytics.FaultTests;

/// <summary>The satisfaction tables compared with a recount straight from the event store (fault suite, scale-out run).</summary>
public static class ViewRecount
{
    /// <summary>
    /// Rows of sat_cell_totals that differ from a recount straight from mt_events (both directions), plus the difference
    /// in response and conversation counts. A response counts once (its first copy); its rating is the latest by
    /// occurredAt (the later event on a tie); capability "*" counts every response once. A thumbs up or down without its
    /// response counts in up/down under its own model, capabilities and hour.
    /// </summary>
    public static List<string> LastDifferences { get; } = [];

    public static async Task<long> DifferencesAsync(string connectionString, IReadOnlySet<Guid>? excludedEvents = null)
    {
        var schema = EventStoreRegistration.SchemaName;
        var sql = $"""
            with events as (
                select * from {schema}.mt_events where not (id = any(@excluded))),
            responses as (
                select distinct on (data ->> 'turnId') data ->> 'turnId' as turn_id, data
                from events where type = 'response_generated_recorded' order by data ->> 'turnId', seq_id),
            ratings as (
                select distinct on (data ->> 'turnId') data ->> 'turnId' as turn_id, lower(data ->> 'rating') as rating, data
                from events where type = 'response_rated_recorded'
                order by data ->> 'turnId', date_trunc('microseconds', (data ->> 'occurredAt')::timestamptz) desc, seq_id desc),
            facts as (
                select date_trunc('hour', (r.data ->> 'occurredAt')::timestamptz at time zone 'UTC') at time zone 'UTC' as hour,
                    r.data -> 'model' ->> 'id' as model_id, r.data -> 'model' ->> 'version' as model_version, cap.name as capability,
                    (r.data ->> 'latencyMs')::bigint as latency, (r.data ->> 'regeneratedFrom' is not null)::int as regenerated, g.rating,
                    1 as response
                from responses r left join ratings g using (turn_id)
                cross join lateral (select distinct value from jsonb_array_elements_text(r.data -> 'capabilities') union select '*') cap(name)
                union all
                -- A thumbs up or down whose response is not there counts under the model and capabilities it carries, in
                -- the hour it occurred (docs/contracts.md): in up and down, not in rated (the rate is among responses).
                select date_trunc('hour', (g.data ->> 'occurredAt')::timestamptz at time zone 'UTC') at time zone 'UTC',
                    g.data -> 'model' ->> 'id', g.data -> 'model' ->> 'version', cap.name, null, 0, g.rating, 0
                from ratings g
                cross join lateral (select distinct value from jsonb_array_elements_text(g.data -> 'capabilities') union select '*') cap(name)
                where g.rating in ('up', 'down') and not exists (select 1 from responses r where r.turn_id = g.turn_id)),
            recount as (
                select hour, model_id, model_version, capability, sum(response)::bigint as responses,
                    count(*) filter (where response = 1 and rating in ('up', 'down')) as rated, count(*) filter (where rating = 'up') as up,
                    count(*) filter (where rating = 'down') as down, sum(regenerated)::bigint as regenerations,
                    coalesce(sum(latency), 0)::bigint as latency_sum
                from facts group by 1, 2, 3, 4),
            projected as (
                select hour, model_id, model_version, capability, responses, rated, up, down, regenerations, latency_sum
                from {SatisfactionProjection.CellTotals}
                where responses <> 0 or rated <> 0 or up <> 0 or down <> 0 or regenerations <> 0 or latency_sum <> 0)
            /*select*/
            """;
        var count = $"""
            select (select count(*) from (select * from recount except select * from projected) a)
                 + (select count(*) from (select * from projected except select * from recount) b)
                 + abs((select count(*) from responses) - (select count(*) from {SatisfactionProjection.Responses}))
                 + abs((select count(distinct stream_id) from events where type = 'conversation_started_recorded')
                       - (select count(*) from {SatisfactionProjection.Conversations}))
            """;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql.Replace("/*select*/", count, StringComparison.Ordinal), connection);
        command.Parameters.AddWithValue("excluded", (excludedEvents ?? new HashSet<Guid>()).ToArray());
        var differences = (long)(await command.ExecuteScalarAsync())!;
        LastDifferences.Clear();
        if (differences > 0)
        {
            // A few of the differing rows, for the failure message.
            command.CommandText = sql.Replace("/*select*/", """
                (select 'recount: ' || a::text from (select * from recount except select * from projected) a limit 3)
                union all (select 'projected: ' || b::text from (select * from projected except select * from recount) b limit 3)
                """, StringComparison.Ordinal);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                Console.WriteLine($"[fault suite] view difference: {reader.GetString(0)}");
                LastDifferences.Add(reader.GetString(0));
            }
        }

        return differences;
    }
}
