using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Comparisons;
using Analytics.Simulator;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// Simulated traffic through the real broker and worker (with its projection daemon); the API's matrix is
/// checked against a recount done in SQL straight from the event store.
/// </summary>
public sealed class SatisfactionApiTests : ApiPlatformTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task The_matrix_equals_a_recount_from_the_event_store()
    {
        await _platform.StartWorkerAsync();
        var events = new TrafficModel(new TrafficOptions { Seed = 21, Start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero) })
            .Generate().Take(4000).ToList();
        await _platform.PublishInBatchesAsync(events, 100);

        await TestEnvironment.WaitUntilAsync(async () => await _platform.StoredEventCountAsync() >= events.Count && await _platform.ProjectionCaughtUpAsync(),
            Timeout, async () => $"stored {await _platform.StoredEventCountAsync()} of {events.Count}; projection caught up: {await _platform.ProjectionCaughtUpAsync()}");
        await _platform.WaitUntilQuietAsync(Analytics.Ingesting.IngestionTopology.Queue, Timeout);

        var client = ApiClients.Viewer(_api);
        var matrix = await client.GetFromJsonAsync<JsonElement>("/api/satisfaction/matrix?from=2026-10-31T00:00:00Z&to=2026-11-30T00:00:00Z");
        var fromApi = matrix.GetProperty("items").EnumerateArray().ToDictionary(
            c => (c.GetProperty("modelId").GetString()!, c.GetProperty("version").GetString()!, c.GetProperty("capability").GetString()!),
            c => (c.GetProperty("responses").GetInt64(), c.GetProperty("rated").GetInt64(), c.GetProperty("up").GetInt64(), c.GetProperty("down").GetInt64()));

        var recount = await RecountFromEventStoreAsync();
        Assert.NotEmpty(recount);
        Assert.Equal(recount.OrderBy(x => x.Key).ToList(), fromApi.OrderBy(x => x.Key).ToList());
        Assert.Contains(fromApi, x => x.Key.Item3 == "*" && x.Value.Item3 > 0);

        // The thumbs-down reasons of every model × capability cell (and each model's total) against the same recount.
        var reasonRecount = await RecountReasonsFromEventStoreAsync();
        Assert.Contains(reasonRecount, x => x.Key.Capability != "*" && x.Value.Count > 1);
        foreach (var ((model, capability), expected) in reasonRecount)
        {
            var url = $"/api/satisfaction/reasons?model={model}&from=2026-10-31T00:00:00Z&to=2026-11-30T00:00:00Z"
                + (capability == "*" ? string.Empty : $"&capability={capability}");
            var reasons = await client.GetFromJsonAsync<JsonElement>(url);
            var actual = reasons.GetProperty("items").EnumerateArray().ToDictionary(r => r.GetProperty("reason").GetString()!, r => r.GetProperty("count").GetInt64());
            Assert.Equal(expected.OrderBy(x => x.Key).ToList(), actual.OrderBy(x => x.Key).ToList());
        }

        // Head-to-head outcomes per model pair against a recount of the comparisons' latest preferences.
        var pairRecount = await EventStoreRecount.PairsAsync(_platform.ConnectionString);
        Assert.Contains(pairRecount, p => p.AWins + p.BWins + p.Ties + p.BothBad > 10);
        var headToHead = await client.GetFromJsonAsync<JsonElement>("/api/comparisons/head-to-head?from=2026-10-31T00:00:00Z&to=2026-11-30T00:00:00Z");
        var pairsFromApi = headToHead.GetProperty("items").EnumerateArray().Select(h => new PairOutcome(h.GetProperty("modelA").GetString()!, h.GetProperty("modelB").GetString()!,
            h.GetProperty("aWins").GetInt64(), h.GetProperty("bWins").GetInt64(), h.GetProperty("ties").GetInt64(), h.GetProperty("bothBad").GetInt64())).ToList();
        Assert.Equal(pairRecount, pairsFromApi);
    }

    /// <summary>
    /// An independent recount of the reasons of each turn whose latest rating is down, per model and capability of its
    /// response ("*": the model's total, a turn once), read from mt_events' JSON (stored reasons are enum member names).
    /// </summary>
    private async Task<Dictionary<(string Model, string Capability), Dictionary<string, long>>> RecountReasonsFromEventStoreAsync()
    {
        await using var connection = new NpgsqlConnection(_platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            with responses as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id, data->'model'->>'id' as model_id, data->'capabilities' as capabilities
                from analytics.mt_events where type = 'response_generated_recorded' order by data->>'turnId', seq_id),
            ratings as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id, data->>'rating' as rating, data->'reasons' as reasons
                from analytics.mt_events where type = 'response_rated_recorded'
                order by data->>'turnId', (data->>'occurredAt')::timestamptz desc, seq_id desc)
            select r.model_id, c.capability, reason, count(*)
            from responses r
            join ratings g on g.turn_id = r.turn_id and g.rating = 'Down'
            cross join lateral (select jsonb_array_elements_text(r.capabilities) union select '*') as c(capability)
            cross join lateral jsonb_array_elements_text(g.reasons) as reason
            group by 1, 2, 3
            """, connection);
        var recount = new Dictionary<(string, string), Dictionary<string, long>>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var key = (reader.GetString(0), reader.GetString(1));
            if (!recount.TryGetValue(key, out var reasons))
            {
                recount[key] = reasons = [];
            }

            reasons[JsonNamingPolicy.SnakeCaseLower.ConvertName(reader.GetString(2))] = reader.GetInt64(3);
        }

        return recount;
    }

    /// <summary>An independent recount: responses and the latest rating per turn, read from mt_events' JSON.</summary>
    private async Task<Dictionary<(string, string, string), (long, long, long, long)>> RecountFromEventStoreAsync()
    {
        await using var connection = new NpgsqlConnection(_platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            with responses as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id, data->'model'->>'id' as model_id,
                    data->'model'->>'version' as version, data->'capabilities' as capabilities
                from analytics.mt_events where type = 'response_generated_recorded' order by data->>'turnId', seq_id),
            ratings as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id, data->>'rating' as rating
                from analytics.mt_events where type = 'response_rated_recorded'
                order by data->>'turnId', (data->>'occurredAt')::timestamptz desc, seq_id desc),
            cells as (
                select r.model_id, r.version, c.capability, g.rating
                from responses r
                cross join lateral (select jsonb_array_elements_text(r.capabilities) union select '*') as c(capability)
                left join ratings g on g.turn_id = r.turn_id)
            select model_id, version, capability, count(*), count(*) filter (where rating in ('Up', 'Down')),
                count(*) filter (where rating = 'Up'), count(*) filter (where rating = 'Down')
            from cells group by 1, 2, 3
            """, connection);
        var recount = new Dictionary<(string, string, string), (long, long, long, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            recount[(reader.GetString(0), reader.GetString(1), reader.GetString(2))] =
                (reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
        }

        return recount;
    }
}
