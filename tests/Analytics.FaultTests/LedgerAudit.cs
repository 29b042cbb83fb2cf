using System.Diagnostics;
using System.Globalization;
using Analytics.Conversations;
using Analytics.Ingesting;
using Analytics.IntegrationTests;
using Analytics.Satisfaction;
using Npgsql;

namespace Analytics.FaultTests;

/// <summary>The ledger compared with the event store: the figures of one scenario.</summary>
public sealed record LedgerResult(string Scenario, int Published, int Confirmed, int Attempts, int Failed, int Unknown, int Stored,
    int Lost, int Duplicated, int Unexpected, double RecoverySeconds, long ViewDifferences)
{
    public bool Passed => Lost == 0 && Duplicated == 0 && Unexpected == 0 && ViewDifferences == 0;

    public override string ToString() => FormattableString.Invariant(
        $"{Scenario}: published {Published} events ({Attempts} publish attempts: {Failed} failed, {Unknown} unknown), confirmed {Confirmed}, stored {Stored}, lost {Lost}, duplicated {Duplicated}, unexpected {Unexpected}, time to recover {RecoverySeconds:0.0} s, view rows differing from the recount {ViewDifferences}");
}

/// <summary>
/// Compares a ledger with mt_events (lost = confirmed but not stored, duplicated = stored more than once,
/// unexpected = stored but never published) and the satisfaction tables with a recount from the event store.
/// </summary>
public static class LedgerAudit
{
    /// <summary>Waits until every confirmed event is stored, the ingest queue is empty and the projection has caught up.</summary>
    public static async Task DrainAsync(TestPlatform platform, LedgerProducer ledger, TimeSpan timeout, IReadOnlySet<Guid>? notExpected = null)
    {
        var expected = ledger.ConfirmedEventIds;
        if (notExpected is not null)
        {
            expected.ExceptWith(notExpected);
        }

        await TestEnvironment.WaitUntilAsync(async () =>
            {
                try
                {
                    var stored = await platform.StoredEventsAsync();
                    return expected.All(stored.ContainsKey)
                        && await platform.ReadyMessageCountAsync(IngestionTopology.Queue) == 0
                        && await platform.ProjectionCaughtUpAsync();
                }
                catch (NpgsqlException)
                {
                    return false; // the database is restarting
                }
            },
            timeout,
            async () =>
            {
                var stored = await platform.StoredEventsAsync();
                return $"{expected.Count(id => !stored.ContainsKey(id))} of {expected.Count} confirmed events not stored; " +
                       $"{await platform.ReadyMessageCountAsync(IngestionTopology.Queue)} messages ready; projection caught up: {await platform.ProjectionCaughtUpAsync()}";
            });
    }

    public static async Task<LedgerResult> AuditAsync(string scenario, TestPlatform platform, LedgerProducer ledger, Stopwatch sinceFault,
        IReadOnlySet<Guid>? refusedOnPurpose = null, IReadOnlySet<Guid>? excludedFromViews = null)
    {
        var recovery = sinceFault.Elapsed.TotalSeconds;
        var published = ledger.PublishedEventIds;
        var confirmed = ledger.ConfirmedEventIds;
        var expected = new HashSet<Guid>(confirmed);
        if (refusedOnPurpose is not null)
        {
            expected.ExceptWith(refusedOnPurpose);
        }

        var stored = await platform.StoredEventsAsync();
        var result = new LedgerResult(scenario,
            Published: published.Count,
            Confirmed: confirmed.Count,
            Attempts: ledger.Attempts,
            Failed: ledger.Failed,
            Unknown: ledger.Unknown,
            Stored: published.Count(stored.ContainsKey),
            Lost: expected.Count(id => !stored.ContainsKey(id)),
            Duplicated: stored.Count(s => s.Value.Count > 1),
            Unexpected: stored.Keys.Count(id => !published.Contains(id) || refusedOnPurpose?.Contains(id) == true),
            RecoverySeconds: recovery,
            ViewDifferences: await ViewDifferencesAsync(platform.ConnectionString, excludedFromViews));
        return result;
    }

    /// <summary>
    /// Rows of sat_cell_totals that differ from a recount straight from mt_events (both directions), plus the difference
    /// in response and conversation counts. A response counts once (its first copy); its rating is the latest by
    /// occurredAt (the later event on a tie); capability "*" counts every response once.
    /// </summary>
    public static List<string> LastDifferences { get; } = [];

    public static async Task<long> ViewDifferencesAsync(string connectionString, IReadOnlySet<Guid>? excludedEvents = null)
    {
        var schema = EventStoreRegistration.SchemaName;
        var sql = $"""
            with events as (
                select * from {schema}.mt_events where not (id = any(@excluded))),
            responses as (
                select distinct on (data ->> 'turnId') data ->> 'turnId' as turn_id, data
                from events where type = 'response_generated_recorded' order by data ->> 'turnId', seq_id),
            ratings as (
                select distinct on (data ->> 'turnId') data ->> 'turnId' as turn_id, lower(data ->> 'rating') as rating
                from events where type = 'response_rated_recorded'
                order by data ->> 'turnId', date_trunc('microseconds', (data ->> 'occurredAt')::timestamptz) desc, seq_id desc),
            facts as (
                select date_trunc('hour', (r.data ->> 'occurredAt')::timestamptz at time zone 'UTC') at time zone 'UTC' as hour,
                    r.data -> 'model' ->> 'id' as model_id, r.data -> 'model' ->> 'version' as model_version, cap.name as capability,
                    (r.data ->> 'latencyMs')::bigint as latency, (r.data ->> 'regeneratedFrom' is not null)::int as regenerated, g.rating
                from responses r left join ratings g using (turn_id)
                cross join lateral (select distinct value from jsonb_array_elements_text(r.data -> 'capabilities') union select '*') cap(name)),
            recount as (
                select hour, model_id, model_version, capability, count(*) as responses,
                    count(*) filter (where rating in ('up', 'down')) as rated, count(*) filter (where rating = 'up') as up,
                    count(*) filter (where rating = 'down') as down, sum(regenerated)::bigint as regenerations, sum(latency)::bigint as latency_sum
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
