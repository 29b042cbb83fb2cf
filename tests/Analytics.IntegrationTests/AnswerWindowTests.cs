using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Contracts;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// The window rule and the envelope of the aggregate answers: a window that starts and ends mid-hour counts its first and
/// last hours whole, says so (effective from/to, bucket, requested window), and equals an SQL recount from mt_events over
/// that effective window; asOf, position and lag tell where the views stand.
/// </summary>
public sealed class AnswerWindowTests(SeededReadApi seeded) : IClassFixture<SeededReadApi>
{
    // Mid-hour at both ends: the effective window is 09:00–12:00.
    private const string MidHour = "from=2026-11-20T09:25:46Z&to=2026-11-20T11:10:00Z";
    private static readonly DateTimeOffset EffectiveFrom = SeededReadApi.Day.AddHours(9);
    private static readonly DateTimeOffset EffectiveTo = SeededReadApi.Day.AddHours(12);

    [Fact]
    public async Task A_mid_hour_matrix_window_counts_whole_hours_says_so_and_equals_a_recount()
    {
        var answer = await GetAsync($"/api/satisfaction/matrix?{MidHour}");
        AssertWindow(answer, EffectiveFrom, EffectiveTo, "hour", SeededReadApi.Day.Add(new TimeSpan(9, 25, 46)), SeededReadApi.Day.AddHours(11).AddMinutes(10));

        var fromApi = answer.GetProperty("items").EnumerateArray().ToDictionary(
            c => (c.GetProperty("modelId").GetString()!, c.GetProperty("version").GetString()!, c.GetProperty("capability").GetString()!),
            c => (c.GetProperty("responses").GetInt64(), c.GetProperty("rated").GetInt64(), c.GetProperty("up").GetInt64(), c.GetProperty("down").GetInt64()));
        var recount = await RecountCellsAsync(EffectiveFrom, EffectiveTo);
        Assert.Equal(recount.OrderBy(x => x.Key).ToList(), fromApi.OrderBy(x => x.Key).ToList());

        // The rule matters here: counting only the requested minutes would leave out r1 (09:10) and r5 (11:30).
        var requestedOnly = await RecountCellsAsync(SeededReadApi.Day.Add(new TimeSpan(9, 25, 46)), SeededReadApi.Day.AddHours(11).AddMinutes(10));
        Assert.Equal(5, recount[("atlas", "2026-11", "*")].Item1 + recount[("borealis", "2026-11", "*")].Item1); // r1, r3, r5; r2, r4
        Assert.NotEqual(recount[("atlas", "2026-11", "*")], requestedOnly[("atlas", "2026-11", "*")]);
    }

    [Theory]
    [InlineData("hour", "2026-11-20T09:25:46Z", "2026-11-20T11:10:00Z", "2026-11-20T09:00:00Z", "2026-11-20T12:00:00Z")]
    [InlineData("day", "2026-11-20T09:25:46Z", "2026-11-21T03:00:00Z", "2026-11-20T00:00:00Z", "2026-11-22T00:00:00Z")]
    [InlineData("hour", "2026-11-20T09:00:00Z", "2026-11-20T12:00:00Z", "2026-11-20T09:00:00Z", "2026-11-20T12:00:00Z")]
    public async Task Over_time_widens_to_whole_buckets_and_each_point_equals_a_recount(string bucket, string from, string to,
        string effectiveFrom, string effectiveTo)
    {
        var answer = await GetAsync($"/api/satisfaction/over-time?model=atlas&bucket={bucket}&from={from}&to={to}");
        var (start, end) = (DateTimeOffset.Parse(effectiveFrom, System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(effectiveTo, System.Globalization.CultureInfo.InvariantCulture));
        AssertWindow(answer, start, end, bucket, DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(to, System.Globalization.CultureInfo.InvariantCulture));

        var points = answer.GetProperty("items").EnumerateArray()
            .Select(p => (Bucket: p.GetProperty("bucket").GetDateTimeOffset(), Responses: p.GetProperty("responses").GetInt64(),
                Up: p.GetProperty("up").GetInt64(), Down: p.GetProperty("down").GetInt64()))
            .ToList();
        Assert.NotEmpty(points);
        var step = bucket == "day" ? TimeSpan.FromDays(1) : TimeSpan.FromHours(1);
        var expected = new List<(DateTimeOffset, long, long, long)>();
        for (var at = start; at < end; at += step)
        {
            var cell = (await RecountCellsAsync(at, at + step)).GetValueOrDefault(("atlas", "2026-11", "*"));
            if (cell.Item1 > 0)
            {
                expected.Add((at, cell.Item1, cell.Item3, cell.Item4));
            }
        }

        Assert.Equal(expected, points);
    }

    [Fact]
    public async Task Reasons_head_to_head_and_the_leaderboard_cover_the_widened_window_and_equal_a_recount()
    {
        var reasons = await GetAsync($"/api/satisfaction/reasons?model=atlas&{MidHour}");
        AssertWindow(reasons, EffectiveFrom, EffectiveTo, "hour", null, null);
        var reasonCounts = reasons.GetProperty("items").EnumerateArray()
            .ToDictionary(r => r.GetProperty("reason").GetString()!, r => r.GetProperty("count").GetInt64());
        Assert.Equal((await RecountReasonsAsync("atlas", EffectiveFrom, EffectiveTo)).OrderBy(x => x.Key).ToList(), reasonCounts.OrderBy(x => x.Key).ToList());
        Assert.Equal(2, reasonCounts["bad_citation"]); // r1 at 09:10 and r5 at 11:30, both outside the requested minutes

        var headToHead = await GetAsync($"/api/comparisons/head-to-head?{MidHour}");
        AssertWindow(headToHead, EffectiveFrom, EffectiveTo, "hour", null, null);
        var pair = Assert.Single(headToHead.GetProperty("items").EnumerateArray());
        var recount = await RecountComparisonsAsync(EffectiveFrom, EffectiveTo);
        Assert.Equal(recount, (pair.GetProperty("aWins").GetInt64(), pair.GetProperty("bWins").GetInt64(), pair.GetProperty("ties").GetInt64()));
        Assert.Equal((2L, 1L, 1L), recount); // 09:15 and 09:50 atlas, 10:05 borealis, 11:50 tie; 08:55 and 12:10 are outside

        var board = await GetAsync($"/api/comparisons/leaderboard?{MidHour}&bootstrap=50");
        AssertWindow(board, EffectiveFrom, EffectiveTo, "hour", null, null);
        Assert.Equal(4, board.GetProperty("comparisons").GetInt64());
        Assert.Equal("*", board.GetProperty("capability").GetString());
        Assert.Equal("atlas@2026-11", board.GetProperty("anchor").GetString()); // equal comparisons: the alphabetically first
        Assert.Equal("atlas@2026-11", board.GetProperty("leader").GetString()); // 2.5 : 1.5
        var anchored = board.GetProperty("items").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "atlas@2026-11");
        Assert.Equal(1000, anchored.GetProperty("rating").GetDouble(), 6);
        Assert.Equal(0, anchored.GetProperty("toLeader").GetProperty("difference").GetDouble());

        var onBorealis = await GetAsync($"/api/comparisons/leaderboard?{MidHour}&bootstrap=50&anchor=borealis@2026-11");
        Assert.Equal("borealis@2026-11", onBorealis.GetProperty("anchor").GetString());
        var borealis = onBorealis.GetProperty("items").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "borealis@2026-11");
        Assert.Equal(1000, borealis.GetProperty("rating").GetDouble(), 6);
        Assert.True(borealis.GetProperty("toLeader").GetProperty("difference").GetDouble() < 0);
    }

    [Fact]
    public async Task AsOf_position_and_lag_say_where_the_views_stand()
    {
        var client = ApiClients.Viewer(seeded.Api);
        var caughtUp = await GetAsync($"/api/satisfaction/matrix?{MidHour}");
        var (last, lastStored) = await LastEventAsync();
        Assert.Equal(last, caughtUp.GetProperty("position").GetInt64());
        Assert.Equal(lastStored, caughtUp.GetProperty("asOf").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, caughtUp.GetProperty("lag").ValueKind);

        // One more event, stored but not projected (no daemon runs): every answer says the views are one event behind.
        var conversation = Guid.NewGuid();
        await seeded.AppendAsync([new ConversationStarted(Guid.NewGuid(), new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), 1, conversation,
            "it", "u", "web", "en-US", new Personalization(false))]);
        foreach (var path in new[] { $"/api/satisfaction/matrix?{MidHour}", $"/api/comparisons/leaderboard?{MidHour}&bootstrap=20", $"/api/comparisons/head-to-head?{MidHour}" })
        {
            var behind = await GetAsync(path);
            Assert.Equal(last, behind.GetProperty("position").GetInt64());
            Assert.Equal(1, behind.GetProperty("lag").GetProperty("events").GetInt64());
            Assert.True(behind.GetProperty("lag").GetProperty("seconds").GetDouble() >= 0);
        }

        await seeded.ProjectAsync();
        var after = await client.GetFromJsonAsync<JsonElement>($"/api/satisfaction/matrix?{MidHour}");
        Assert.Equal((await LastEventAsync()).Seq, after.GetProperty("position").GetInt64());
        Assert.True(after.GetProperty("position").GetInt64() > last);
        Assert.Equal(JsonValueKind.Null, after.GetProperty("lag").ValueKind);
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_window_rule_and_the_envelope()
    {
        var document = await seeded.Api.CreateClient().GetStringAsync("/openapi/v1.json");
        using var json = JsonDocument.Parse(document);
        var paths = json.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/api/satisfaction/matrix", "/api/satisfaction/over-time", "/api/satisfaction/reasons", "/api/comparisons/leaderboard", "/api/comparisons/head-to-head" })
        {
            var get = paths.GetProperty(path).GetProperty("get");
            Assert.Contains("widened to whole buckets", get.GetProperty("description").GetString(), StringComparison.Ordinal);
            var schema = get.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema");
            var reference = schema.GetProperty("$ref").GetString()!.Split('/')[^1];
            var properties = json.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(reference).GetProperty("properties");
            foreach (var field in new[] { "from", "to", "bucket", "requestedFrom", "requestedTo", "asOf", "position", "lag", "items" })
            {
                Assert.True(properties.TryGetProperty(field, out _), $"{path}: {reference} has no {field}");
            }
        }
    }

    private async Task<JsonElement> GetAsync(string path)
    {
        var response = await ApiClients.Viewer(seeded.Api).GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static void AssertWindow(JsonElement answer, DateTimeOffset from, DateTimeOffset to, string bucket, DateTimeOffset? requestedFrom, DateTimeOffset? requestedTo)
    {
        Assert.Equal(from, answer.GetProperty("from").GetDateTimeOffset());
        Assert.Equal(to, answer.GetProperty("to").GetDateTimeOffset());
        Assert.Equal(bucket, answer.GetProperty("bucket").GetString());
        if (requestedFrom is not null)
        {
            Assert.Equal(requestedFrom, answer.GetProperty("requestedFrom").GetDateTimeOffset());
            Assert.Equal(requestedTo, answer.GetProperty("requestedTo").GetDateTimeOffset());
        }

        Assert.Equal(JsonValueKind.Number, answer.GetProperty("position").ValueKind);
        Assert.Equal(JsonValueKind.Array, answer.GetProperty("items").ValueKind);
    }

    private async Task<(long Seq, DateTimeOffset Stored)> LastEventAsync()
    {
        await using var connection = new NpgsqlConnection(seeded.Platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select seq_id, timestamp from analytics.mt_events order by seq_id desc limit 1", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1));
    }

    /// <summary>Responses given in [from, to) per model, version and capability ("*": all, a response once) with their latest rating, from mt_events.</summary>
    private async Task<Dictionary<(string, string, string), (long, long, long, long)>> RecountCellsAsync(DateTimeOffset from, DateTimeOffset to)
    {
        await using var connection = new NpgsqlConnection(seeded.Platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            with responses as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id, data->'model'->>'id' as model_id,
                    data->'model'->>'version' as version, data->'capabilities' as capabilities, (data->>'occurredAt')::timestamptz as at
                from analytics.mt_events where type = 'response_generated_recorded' order by data->>'turnId', seq_id),
            ratings as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id, data->>'rating' as rating
                from analytics.mt_events where type = 'response_rated_recorded'
                order by data->>'turnId', (data->>'occurredAt')::timestamptz desc, seq_id desc)
            select r.model_id, r.version, c.capability, count(*), count(*) filter (where g.rating in ('Up', 'Down')),
                count(*) filter (where g.rating = 'Up'), count(*) filter (where g.rating = 'Down')
            from responses r
            cross join lateral (select jsonb_array_elements_text(r.capabilities) union select '*') as c(capability)
            left join ratings g on g.turn_id = r.turn_id
            where r.at >= $1 and r.at < $2
            group by 1, 2, 3
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime() });
        var recount = new Dictionary<(string, string, string), (long, long, long, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            recount[(reader.GetString(0), reader.GetString(1), reader.GetString(2))] = (reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
        }

        return recount;
    }

    /// <summary>Reasons of a model's responses given in [from, to) whose latest rating is down, from mt_events (snake_case, as the API names them).</summary>
    private async Task<Dictionary<string, long>> RecountReasonsAsync(string model, DateTimeOffset from, DateTimeOffset to)
    {
        await using var connection = new NpgsqlConnection(seeded.Platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            with responses as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id, (data->>'occurredAt')::timestamptz as at
                from analytics.mt_events where type = 'response_generated_recorded' and data->'model'->>'id' = $1 order by data->>'turnId', seq_id),
            ratings as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id, data->>'rating' as rating, data->'reasons' as reasons
                from analytics.mt_events where type = 'response_rated_recorded'
                order by data->>'turnId', (data->>'occurredAt')::timestamptz desc, seq_id desc)
            select reason, count(*)
            from responses r join ratings g on g.turn_id = r.turn_id
            cross join lateral jsonb_array_elements_text(g.reasons) as reason
            where g.rating = 'Down' and r.at >= $2 and r.at < $3
            group by 1
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime() });
        var recount = new Dictionary<string, long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            recount[JsonNamingPolicy.SnakeCaseLower.ConvertName(reader.GetString(0))] = reader.GetInt64(1);
        }

        return recount;
    }

    /// <summary>Atlas wins, borealis wins and ties among the comparisons made in [from, to) (atlas is candidate A in every seeded one).</summary>
    private async Task<(long, long, long)> RecountComparisonsAsync(DateTimeOffset from, DateTimeOffset to)
    {
        await using var connection = new NpgsqlConnection(seeded.Platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select count(*) filter (where data->>'preferred' = 'A'), count(*) filter (where data->>'preferred' = 'B'),
                count(*) filter (where data->>'preferred' = 'Tie')
            from analytics.mt_events
            where type = 'responses_compared_recorded' and (data->>'occurredAt')::timestamptz >= $1 and (data->>'occurredAt')::timestamptz < $2
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime() });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}
