using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Comparisons;
using Analytics.Contracts;
using Analytics.Satisfaction;
using Marten;
using Marten.Events;

namespace Analytics.IntegrationTests;

/// <summary>
/// Ratings and comparisons whose responses come before them, after them or never, run by the real async daemon over
/// the real store: every thumbs up or down counts in satisfaction (under the model and capabilities it carries until
/// its response is there), the rating rate counts only ratings of responses that are there, a response that comes late
/// moves its rating without counting it twice, and the counters equal a recount done in SQL straight from mt_events
/// at every step, whatever the page boundaries (one event per page, one page, the set-based rebuild).
/// </summary>
public sealed class OrphanFeedbackTests() : EventStoreTest(receivedAfterT0: TimeSpan.FromHours(3))
{
    private static readonly ModelRef Nova = new("nova", "1");

    [Fact]
    public async Task Ratings_count_whether_their_response_comes_before_after_or_never_and_equal_a_recount_from_the_events()
    {
        var conversation = Guid.NewGuid();
        Guid before = Guid.NewGuid(), after = Guid.NewGuid(), never = Guid.NewGuid(), flipped = Guid.NewGuid(), withdrawn = Guid.NewGuid();
        Guid otherA = Guid.NewGuid(), otherB = Guid.NewGuid();
        var lateResponse = Response(conversation, after, 1, Atlas, ["chat"], minutes: 3);
        object[] firstEvents =
        [
            new ConversationStarted(Guid.NewGuid(), T0, 1, conversation, "it", "u1", "web", "en-US", new Personalization(false)),
            Response(conversation, before, 0, Atlas, ["chat"], minutes: 1),
            Rated(conversation, before, Rating.Up, Atlas, ["chat"], minutes: 2), // its response came first
            Rated(conversation, after, Rating.Down, Atlas, ["chat"], minutes: 70, FeedbackReason.CodeError), // its response comes later
            Rated(conversation, never, Rating.Down, Nova, ["browsing", "chat"], minutes: 5, FeedbackReason.Inaccurate), // never
            Rated(conversation, flipped, Rating.Up, Nova, ["chat"], minutes: 6),
            Rated(conversation, flipped, Rating.Down, Nova, ["chat"], minutes: 7, FeedbackReason.TooVerbose), // never, flipped to down
            Rated(conversation, withdrawn, Rating.Up, Nova, ["chat"], minutes: 8),
            Rated(conversation, withdrawn, Rating.None, Nova, ["chat"], minutes: 9), // never, withdrawn: counts nothing
            // Side by side, neither response ever arrives.
            Compared(conversation, Guid.NewGuid(), (otherA, Atlas), (otherB, Nova), Preference.B, minutes: 10),
            Compared(conversation, Guid.NewGuid(), (Guid.NewGuid(), Nova), (Guid.NewGuid(), Atlas), Preference.Tie, minutes: 11),
        ];

        using var daemon = await _store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        foreach (var e in firstEvents)
        {
            await AppendAsync([e]); // one event per page: every rating is stored before the next one comes
            await _store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        }

        await AssertCountersEqualRecountAsync();
        var queries = new SatisfactionQueries(_dataSource);
        var window = (From: T0.AddHours(-1), To: T0.AddHours(3));
        var cells = await CellsAsync(queries, window.From, window.To);

        // The ratings whose responses never came count in satisfaction under the model and capabilities they carry; the
        // rating rate has no response to count them among.
        Assert.Equal((0, 0, 0, 2), cells[("nova", "*")]);
        Assert.Equal((0, 0, 0, 2), cells[("nova", "chat")]);
        Assert.Equal((0, 0, 0, 1), cells[("nova", "browsing")]);
        // atlas: the response rated up; the down whose response has not come yet, in the hour it occurred (11:00).
        Assert.Equal((1, 1, 1, 1), cells[("atlas", "*")]);
        Assert.Equal((0, 0, 0, 1), TotalOf(await queries.MatrixAsync(T0.AddHours(1).AddMinutes(-5), window.To, "atlas", new SliceFilter(), default)));
        Assert.Equal(
            [new ReasonCount("inaccurate", 1), new ReasonCount("too_verbose", 1)],
            await queries.ReasonsAsync("nova", null, null, window.From, window.To, default));

        // The response comes: its rating moves into the response's hour (10:00) and cell; nothing is counted twice, and the
        // cell it counted in meanwhile is gone, not left at zero.
        await AppendAsync([lateResponse]);
        await _store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        await AssertCountersEqualRecountAsync();
        cells = await CellsAsync(queries, window.From, window.To);
        Assert.Equal((2, 2, 1, 1), cells[("atlas", "*")]);
        Assert.Equal((2, 2, 1, 1), cells[("atlas", "chat")]);
        Assert.Empty(await queries.MatrixAsync(T0.AddHours(1).AddMinutes(-5), window.To, "atlas", new SliceFilter(), default));
        Assert.Equal([new ReasonCount("code_error", 1)], await queries.ReasonsAsync("atlas", null, null, window.From, window.To, default));
        Assert.Equal((0, 0, 0, 2), cells[("nova", "*")]);
        Assert.Equal(0L, await ScalarAsync($"select count(*) from {SatisfactionProjection.CellTotals} where responses = 0 and rated = 0 and up = 0 and down = 0"));

        // Comparisons whose responses never came count in the pair counters: head-to-head and leaderboard.
        var comparisons = new ComparisonQueries(_dataSource);
        Assert.Equal([new PairOutcome("atlas@2026-11", "nova@1", 0, 1, 1, 0)], await comparisons.PairsAsync(null, window.From, window.To, default));
        Assert.Equal([new PairOutcome("atlas@2026-11", "nova@1", 0, 1, 1, 0)], await comparisons.PairsAsync("chat", window.From, window.To, default));
        Assert.Equal(await EventStoreRecount.PairsAsync(_platform.ConnectionString), await comparisons.PairsAsync(null, window.From, window.To, default));

        // The same through the API, as a dashboard user asks.
        await using (var api = ApiClients.For(_platform))
        {
            var client = ApiClients.Viewer(api);
            var range = "from=2026-11-20T09:00:00Z&to=2026-11-20T13:00:00Z";
            var matrix = await client.GetFromJsonAsync<JsonElement>($"/api/satisfaction/matrix?model=nova&{range}");
            var total = matrix.GetProperty("items").EnumerateArray().Single(c => c.GetProperty("capability").GetString() == "*");
            Assert.Equal((0, 0, 2), (total.GetProperty("responses").GetInt64(), total.GetProperty("up").GetInt64(), total.GetProperty("down").GetInt64()));
            Assert.Equal(0, total.GetProperty("satisfaction").GetProperty("rate").GetDouble());
            Assert.Equal(JsonValueKind.Null, total.GetProperty("ratingRate").GetProperty("rate").ValueKind);
            var headToHead = await client.GetFromJsonAsync<JsonElement>($"/api/comparisons/head-to-head?{range}");
            var pair = headToHead.GetProperty("items").EnumerateArray().Single();
            Assert.Equal(("atlas@2026-11", "nova@1", 1L, 1L), (pair.GetProperty("modelA").GetString(), pair.GetProperty("modelB").GetString(),
                pair.GetProperty("bWins").GetInt64(), pair.GetProperty("ties").GetInt64()));
            var leaderboard = await client.GetFromJsonAsync<JsonElement>($"/api/comparisons/leaderboard?{range}");
            Assert.Equal(["atlas@2026-11", "nova@1"], leaderboard.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("model").GetString()).Order());
        }

        // Other page boundaries give the same tables: all events in one daemon page, and the set-based rebuild.
        var live = await TableRowsAsync();
        await daemon.RebuildProjectionAsync<SatisfactionProjection>(CancellationToken.None);
        Assert.Equal(live, await TableRowsAsync());
        await daemon.StopAllAsync();
        await SetBasedRebuildAsync();
        Assert.Equal(live, await TableRowsAsync());
        await AssertCountersEqualRecountAsync();
    }

    [Fact]
    public async Task A_response_in_the_same_page_as_its_earlier_or_later_rating_counts_it_once()
    {
        // In one page, in sequence order: a rating then its response, a response then its rating, a rating alone; then a
        // second page where the lone rating's response arrives and the first rating flips.
        var conversation = Guid.NewGuid();
        Guid first = Guid.NewGuid(), second = Guid.NewGuid(), third = Guid.NewGuid();
        object[] page =
        [
            Rated(conversation, first, Rating.Up, Atlas, ["chat"], minutes: 62),
            Response(conversation, first, 0, Atlas, ["chat"], minutes: 1),
            Response(conversation, second, 1, Atlas, ["code_execution"], minutes: 2),
            Rated(conversation, second, Rating.Down, Atlas, ["code_execution"], minutes: 3, FeedbackReason.CodeError),
            Rated(conversation, third, Rating.Down, Nova, ["chat"], minutes: 130, FeedbackReason.Unhelpful),
        ];
        await AppendAsync(page);
        using var daemon = await _store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        await _store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        await AssertCountersEqualRecountAsync();
        var queries = new SatisfactionQueries(_dataSource);
        var cells = await CellsAsync(queries, T0.AddHours(-1), T0.AddHours(4));
        Assert.Equal((2, 2, 1, 1), cells[("atlas", "*")]);
        Assert.Equal((0, 0, 0, 1), cells[("nova", "*")]);

        await AppendAsync([
            Response(conversation, third, 2, Nova, ["chat"], minutes: 4),
            Rated(conversation, first, Rating.Down, Atlas, ["chat"], minutes: 63)]);
        await _store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        await AssertCountersEqualRecountAsync();
        cells = await CellsAsync(queries, T0.AddHours(-1), T0.AddHours(4));
        Assert.Equal((2, 2, 0, 2), cells[("atlas", "*")]);
        Assert.Equal((1, 1, 0, 1), cells[("nova", "*")]);
        Assert.Equal(
            [new ReasonCount("unhelpful", 1)],
            await queries.ReasonsAsync("nova", null, null, T0.AddHours(-1), T0.AddHours(1), default)); // the response's hour

        var live = await TableRowsAsync();
        await daemon.StopAllAsync();
        await SetBasedRebuildAsync();
        Assert.Equal(live, await TableRowsAsync());
    }

    private static async Task<Dictionary<(string Model, string Capability), (long Responses, long Rated, long Up, long Down)>> CellsAsync(
        SatisfactionQueries queries, DateTimeOffset from, DateTimeOffset to) =>
        (await queries.MatrixAsync(from, to, null, new SliceFilter(), default)).ToDictionary(c => (c.ModelId, c.Capability), c => (c.Responses, c.Rated, c.Up, c.Down));

    private static (long, long, long, long) TotalOf(IReadOnlyList<SatisfactionCell> cells)
    {
        var total = cells.Single(c => c.Capability == SatisfactionQueries.AllCapabilities);
        return (total.Responses, total.Rated, total.Up, total.Down);
    }

    /// <summary>
    /// The hourly counters (sat_cell_totals) and the reason counters against an independent recount from mt_events' JSON:
    /// per turn its first response and its latest rating (stored enum member names); a turn with a response counts in its
    /// response's hour, model and capabilities (and rated there), a turn without one counts its up or down in the hour,
    /// model and capabilities its rating carries.
    /// </summary>
    private async Task AssertCountersEqualRecountAsync()
    {
        const string Turns = """
            with responses as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id,
                    date_trunc('hour', (data->>'occurredAt')::timestamptz at time zone 'UTC') at time zone 'UTC' as hour,
                    data->'model'->>'id' as model_id, data->'model'->>'version' as model_version, data->'capabilities' as capabilities
                from analytics.mt_events where type = 'response_generated_recorded' order by data->>'turnId', seq_id),
            ratings as (
                select distinct on (data->>'turnId') data->>'turnId' as turn_id, data->>'rating' as rating, data->'reasons' as reasons,
                    date_trunc('hour', (data->>'occurredAt')::timestamptz at time zone 'UTC') at time zone 'UTC' as hour,
                    data->'model'->>'id' as model_id, data->'model'->>'version' as model_version, data->'capabilities' as capabilities
                from analytics.mt_events where type = 'response_rated_recorded'
                order by data->>'turnId', (data->>'occurredAt')::timestamptz desc, seq_id desc),
            turns as (
                select coalesce(r.hour, g.hour) as hour, coalesce(r.model_id, g.model_id) as model_id,
                    coalesce(r.model_version, g.model_version) as model_version, coalesce(r.capabilities, g.capabilities) as capabilities,
                    (r.turn_id is not null)::int as responses, coalesce(r.turn_id is not null and g.rating in ('Up', 'Down'), false)::int as rated,
                    coalesce(g.rating = 'Up', false)::int as up, coalesce(g.rating = 'Down', false)::int as down,
                    case when g.rating = 'Down' then g.reasons end as reasons
                from responses r full join ratings g on g.turn_id = r.turn_id),
            cells as (
                select t.*, c.capability from turns t
                cross join lateral (select jsonb_array_elements_text(t.capabilities) union select '*') as c(capability))
            """;
        var recount = await RowsAsync(Turns + """
            select hour, model_id, model_version, capability, sum(responses), sum(rated), sum(up), sum(down)
            from cells group by 1, 2, 3, 4
            having sum(responses) > 0 or sum(up) > 0 or sum(down) > 0
            order by 1, 2, 3, 4
            """);
        var counters = await RowsAsync($"""
            select hour, model_id, model_version, capability, responses, rated, up, down from {SatisfactionProjection.CellTotals}
            order by 1, 2, 3, 4
            """);
        Assert.NotEmpty(recount);
        Assert.Equal(recount, counters);

        var reasonRecount = await RowsAsync(Turns + """
            select hour, model_id, model_version, capability, lower(regexp_replace(reason, '([a-z])([A-Z])', '\1_\2', 'g')), count(*)
            from cells cross join lateral jsonb_array_elements_text(reasons) as reason
            group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
            """);
        var reasonCounters = await RowsAsync($"""
            select hour, model_id, model_version, capability, reason, down from {SatisfactionProjection.CellReasons}
            where down <> 0 order by 1, 2, 3, 4, 5
            """);
        Assert.Equal(reasonRecount, reasonCounters); // stored reasons are enum member names, turned into wire names above
    }

    private async Task<List<string>> RowsAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i) switch
            {
                DateTime t => t.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture),
            })));
        }

        return rows;
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static ResponsesCompared Compared(Guid conversation, Guid comparison, (Guid Turn, ModelRef Model) a, (Guid Turn, ModelRef Model) b,
        Preference preferred, int minutes) =>
        new(Guid.NewGuid(), T0.AddMinutes(minutes), 1, conversation, "it", comparison,
            [new ComparisonCandidate(a.Turn, a.Model), new ComparisonCandidate(b.Turn, b.Model)], preferred, ["chat"]);
}
