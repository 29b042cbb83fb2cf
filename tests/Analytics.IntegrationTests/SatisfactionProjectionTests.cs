using Analytics.Comparisons;
using Analytics.Contracts;
using Analytics.Satisfaction;
using Marten;
using Marten.Events;

namespace Analytics.IntegrationTests;

/// <summary>
/// The satisfaction projection on a hand-made conversation, run by the real async daemon over the real
/// store; the expected counts are worked out by hand below.
/// </summary>
public sealed class SatisfactionProjectionTests() : EventStoreTest(receivedAfterT0: TimeSpan.FromHours(1))
{
    [Fact]
    public async Task Flips_withdrawals_early_ratings_stale_ratings_and_multi_capability_responses_count_as_worked_out_by_hand()
    {
        var conversation = Guid.NewGuid();
        Guid t1 = Guid.NewGuid(), t2 = Guid.NewGuid(), t3 = Guid.NewGuid(), t4 = Guid.NewGuid();
        object[] events =
        [
            new ConversationStarted(Guid.NewGuid(), T0, 1, conversation, "it", "u1", "web", "en-US", new Personalization(true)),
            Response(conversation, t1, 0, Atlas, ["code_execution", "browsing"], minutes: 1),
            Rated(conversation, t1, Rating.Up, Atlas, ["code_execution", "browsing"], minutes: 2),
            Rated(conversation, t1, Rating.Down, Atlas, ["code_execution", "browsing"], minutes: 3, FeedbackReason.CodeError), // flip: up → down
            Response(conversation, t2, 1, Atlas, ["chat"], minutes: 4),
            Rated(conversation, t2, Rating.Up, Atlas, ["chat"], minutes: 5),
            Rated(conversation, t2, Rating.None, Atlas, ["chat"], minutes: 6), // withdrawn
            Rated(conversation, t3, Rating.Up, Atlas, ["chat"], minutes: 8), // arrives before its response
            Response(conversation, t3, 2, Atlas, ["chat"], minutes: 7),
            Response(conversation, t4, 3, Atlas, ["chat"], minutes: 9, regeneratedFrom: t2),
            Rated(conversation, t4, Rating.Up, Atlas, ["chat"], minutes: 11),
            Rated(conversation, t4, Rating.Down, Atlas, ["chat"], minutes: 10, FeedbackReason.TooVerbose), // older than the up: ignored
        ];
        await AppendAsync(events);

        using var daemon = await _store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        await _store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));

        var queries = new SatisfactionQueries(_dataSource);
        var cells = (await queries.MatrixAsync(T0.AddHours(-1), T0.AddHours(1), "atlas", new SliceFilter(), default))
            .ToDictionary(c => c.Capability);

        // code_execution and browsing: T1 only, finally down.
        foreach (var capability in new[] { "code_execution", "browsing" })
        {
            var cell = cells[capability];
            Assert.Equal((1, 1, 0, 1), (cell.Responses, cell.Rated, cell.Up, cell.Down));
        }

        // chat: T2 (withdrawn), T3 (up, rated before it existed), T4 (up; the older down is ignored; a regeneration).
        var chat = cells["chat"];
        Assert.Equal((3, 2, 2, 0, 1), (chat.Responses, chat.Rated, chat.Up, chat.Down, chat.Regenerations));

        // The model total counts T1 once although it used two capabilities.
        var total = cells[SatisfactionQueries.AllCapabilities];
        Assert.Equal((4, 3, 2, 1, 1), (total.Responses, total.Rated, total.Up, total.Down, total.Regenerations));
        Assert.Equal(2.0 / 3, total.Satisfaction.Rate!.Value, 6);
        Assert.Equal(0.75, total.RatingRate.Rate!.Value, 6);
        Assert.True(total.Satisfaction.Lower < total.Satisfaction.Rate && total.Satisfaction.Rate < total.Satisfaction.Upper);

        // Reasons: T1's down (code_error) in both of its capability cells and once in the model total; T4's too_verbose
        // down is older than its up, so chat has none.
        var reasons = await queries.ReasonsAsync("atlas", null, "code_execution", T0.AddHours(-1), T0.AddHours(1), default);
        Assert.Equal([new ReasonCount("code_error", 1)], reasons);
        Assert.Equal([new ReasonCount("code_error", 1)], await queries.ReasonsAsync("atlas", null, "browsing", T0.AddHours(-1), T0.AddHours(1), default));
        Assert.Equal([new ReasonCount("code_error", 1)], await queries.ReasonsAsync("atlas", "2026-11", null, T0.AddHours(-1), T0.AddHours(1), default));
        Assert.Empty(await queries.ReasonsAsync("atlas", null, "chat", T0.AddHours(-1), T0.AddHours(1), default));
        Assert.Empty(await queries.ReasonsAsync("atlas", "2026-10", null, T0.AddHours(-1), T0.AddHours(1), default));

        var web = await queries.OverTimeAsync("atlas", null, null, T0.AddHours(-1), T0.AddHours(1), "hour", new SliceFilter(Surface: "web"), default);
        Assert.Equal((4, 3), (web.Single().Responses, web.Single().Rated));
        Assert.Empty(await queries.OverTimeAsync("atlas", null, null, T0.AddHours(-1), T0.AddHours(1), "hour", new SliceFilter(Surface: "ios"), default));

        // A rebuild from the event store gives the same tables, row for row.
        var live = await TableRowsAsync();
        await daemon.RebuildProjectionAsync<SatisfactionProjection>(CancellationToken.None);
        Assert.Equal(live, await TableRowsAsync());
        Assert.NotEmpty(live);

        // So does the set-based rebuild (rebuild-views).
        await daemon.StopAllAsync();
        await SetBasedRebuildUpToTheLastEventAsync();
        Assert.Equal(live, await TableRowsAsync());
    }

    [Fact]
    public async Task A_page_of_events_gives_the_same_tables_as_one_event_at_a_time()
    {
        Guid c1 = Guid.NewGuid(), c2 = Guid.NewGuid(), comparison = Guid.NewGuid();
        Guid t1 = Guid.NewGuid(), t2 = Guid.NewGuid(), t3 = Guid.NewGuid(), t4 = Guid.NewGuid();
        var previous = new ModelRef("atlas", "2026-10");
        object[] events =
        [
            Response(c2, t3, 0, Atlas, ["chat"], minutes: 1), // before its conversation's start: unknown slice
            new ConversationStarted(Guid.NewGuid(), T0, 1, c2, "it", "u2", "ios", "de-DE", new Personalization(false)),
            Response(c2, t4, 1, Atlas, ["chat"], minutes: 2), // after it: ios, no custom instructions
            new ConversationStarted(Guid.NewGuid(), T0, 1, c1, "it", "u1", "web", "en-US", new Personalization(true),
                new ExperimentAssignment("exp-1", "treatment")),
            Rated(c1, t2, Rating.Down, Atlas, ["chat"], minutes: 30, FeedbackReason.TooVerbose), // before its response, another hour
            Response(c1, t1, 0, Atlas, ["code_execution", "browsing"], minutes: 3),
            Response(c1, t1, 0, Atlas, ["chat"], minutes: 4), // a second copy of the turn: the first one wins
            Rated(c1, t1, Rating.Up, Atlas, ["code_execution", "browsing"], minutes: 5),
            Rated(c1, t1, Rating.Down, Atlas, ["code_execution", "browsing"], minutes: 6, FeedbackReason.CodeError),
            Rated(c1, t1, Rating.None, Atlas, ["code_execution", "browsing"], minutes: 7),
            Rated(c1, t1, Rating.Up, Atlas, ["code_execution", "browsing"], minutes: 7), // same time as the withdrawal: the later event wins
            Response(c1, t2, 1, Atlas, ["chat"], minutes: 25 * 60, regeneratedFrom: t1), // the next day
            Rated(c1, t2, Rating.Up, Atlas, ["chat"], minutes: 29), // older than the down: ignored
            Rated(c2, t3, Rating.Up, Atlas, ["chat"], minutes: 8),
            // Sub-microsecond times are compared at PostgreSQL's precision, cut (as Npgsql writes them), not rounded:
            // 1.6 µs and 1.4 µs are the same microsecond, so the later event wins (rounded, the up would be later).
            RatedAt(c2, t4, Rating.Up, T0.AddMinutes(9).AddTicks(16)),
            RatedAt(c2, t4, Rating.Down, T0.AddMinutes(9).AddTicks(14)),
            Compared(c1, comparison, t1, t2, previous, Preference.A, minutes: 40),
            Compared(c1, comparison, t1, t2, previous, Preference.B, minutes: 41),
            Compared(c1, comparison, t1, t2, previous, Preference.Tie, minutes: 39), // older: ignored
        ];

        using var daemon = await _store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        foreach (var e in events)
        {
            await AppendAsync([e]);
            await _store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        }

        var oneAtATime = await TableRowsAsync();
        await daemon.RebuildProjectionAsync<SatisfactionProjection>(CancellationToken.None); // all of them in one page
        Assert.Equal(oneAtATime, await TableRowsAsync());
        await daemon.StopAllAsync();
        await SetBasedRebuildUpToTheLastEventAsync(); // all of them in one chunk, folded in SQL
        Assert.Equal(oneAtATime, await TableRowsAsync());

        var queries = new SatisfactionQueries(_dataSource);
        var cells = (await queries.MatrixAsync(T0.AddDays(-1), T0.AddDays(2), "atlas", new SliceFilter(), default))
            .ToDictionary(c => c.Capability);
        Assert.Equal((4, 4, 2, 2, 1), (cells["*"].Responses, cells["*"].Rated, cells["*"].Up, cells["*"].Down, cells["*"].Regenerations));
        Assert.Equal((3, 3, 1, 2), (cells["chat"].Responses, cells["chat"].Rated, cells["chat"].Up, cells["chat"].Down));
        Assert.Equal((1, 1, 1), (cells["browsing"].Responses, cells["browsing"].Rated, cells["browsing"].Up));
        var unknown = await queries.OverTimeAsync("atlas", null, null, T0.AddDays(-1), T0.AddDays(2), "day", new SliceFilter(Surface: SatisfactionProjection.Unknown), default);
        Assert.Equal((1, 1, 1), (unknown.Single().Responses, unknown.Single().Rated, unknown.Single().Up));
        var treatment = await queries.OverTimeAsync("atlas", null, null, T0.AddDays(-1), T0.AddDays(2), "day", new SliceFilter(ExperimentArm: "treatment"), default);
        Assert.Equal(new[] { (1L, 1L), (1L, 1L) }, treatment.Select(p => (p.Responses, p.Rated)));

        // The model list, read from the counters and the facts of each version's first and last hour, is what a group by
        // over every response gives: the rating before its response (T0 + 30 min, another hour) moves neither edge.
        await using var everyResponse = _dataSource.CreateCommand(
            $"select model_id, model_version, count(*), min(occurred_at), max(occurred_at) from {SatisfactionProjection.Responses} group by 1, 2 order by 1, 2");
        var grouped = new List<ModelVersion>();
        await using (var reader = await everyResponse.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                grouped.Add(new ModelVersion(reader.GetString(0), reader.GetString(1), reader.GetInt64(2),
                    reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4)));
            }
        }

        Assert.Equal([new ModelVersion("atlas", "2026-11", 4, T0.AddMinutes(1), T0.AddMinutes(25 * 60))], grouped);
        Assert.Equal(grouped, await queries.ModelsAsync(default));

        // The daily counters are the hourly totals summed per day, and a window that cuts days gives the hourly sums.
        await using var differences = _dataSource.CreateCommand($"""
            select count(*) from (
                (select date_trunc('day', hour at time zone 'UTC') at time zone 'UTC', model_id, model_version, capability,
                    sum(responses), sum(rated), sum(up), sum(down), sum(regenerations), sum(latency_sum)
                 from {SatisfactionProjection.CellTotals} group by 1, 2, 3, 4
                 except select day, model_id, model_version, capability, responses, rated, up, down, regenerations, latency_sum
                 from {SatisfactionProjection.CellDays})
                union all
                (select day, model_id, model_version, capability, responses, rated, up, down, regenerations, latency_sum
                 from {SatisfactionProjection.CellDays}
                 except select date_trunc('day', hour at time zone 'UTC') at time zone 'UTC', model_id, model_version, capability,
                    sum(responses), sum(rated), sum(up), sum(down), sum(regenerations), sum(latency_sum)
                 from {SatisfactionProjection.CellTotals} group by 1, 2, 3, 4)) d
            """);
        Assert.Equal(0L, (long)(await differences.ExecuteScalarAsync())!);
        var secondDay = (await queries.MatrixAsync(T0.AddHours(2), T0.AddDays(2), "atlas", new SliceFilter(), default)).Single(c => c.Capability == "*");
        Assert.Equal((1, 1, 0, 1), (secondDay.Responses, secondDay.Rated, secondDay.Up, secondDay.Down));

        // Reasons: T1 went up → down (code_error) → withdrawn → up, so it has none (its counter rows were deleted when they
        // reached zero, which the row-for-row comparison above holds the one-page rebuild to); T2's too_verbose down counts
        // in the hour of its response, the next day; T4's down has no reason.
        Assert.Empty(await queries.ReasonsAsync("atlas", null, "code_execution", T0.AddDays(-1), T0.AddDays(2), default));
        Assert.Equal([new ReasonCount("too_verbose", 1)], await queries.ReasonsAsync("atlas", null, null, T0.AddDays(-1), T0.AddDays(2), default));
        Assert.Equal([new ReasonCount("too_verbose", 1)], await queries.ReasonsAsync("atlas", null, "chat", T0.AddHours(24), T0.AddHours(26), default));
        Assert.Empty(await queries.ReasonsAsync("atlas", null, "chat", T0.AddDays(-1), T0.AddHours(24), default));

        // Pairs: the comparison went A → B, then an older tie (ignored): B (atlas@2026-10, which sorts first) won, once,
        // under its capability and in the total; none under another capability.
        var comparisons = new ComparisonQueries(_dataSource);
        var expected = new PairOutcome("atlas@2026-10", "atlas@2026-11", 1, 0, 0, 0);
        Assert.Equal([expected], await comparisons.PairsAsync(null, T0.AddDays(-1), T0.AddDays(2), default));
        Assert.Equal([expected], await comparisons.PairsAsync("chat", T0.AddDays(-1), T0.AddDays(2), default));
        Assert.Empty(await comparisons.PairsAsync("browsing", T0.AddDays(-1), T0.AddDays(2), default));
        Assert.Empty(await comparisons.PairsAsync(null, T0.AddHours(1), T0.AddDays(2), default)); // made at T0 + 40 min
    }

    /// <summary>The set-based rebuild (<see cref="EventStoreTest.SetBasedRebuildAsync"/>), which records its progression at the last stored event.</summary>
    private async Task SetBasedRebuildUpToTheLastEventAsync()
    {
        var result = await SetBasedRebuildAsync();
        await using var progression = _dataSource.CreateCommand(
            $"select last_seq_id from analytics.mt_event_progression where name = '{SatisfactionRebuild.ProgressionName}'");
        Assert.Equal(result.Ceiling, (long)(await progression.ExecuteScalarAsync())!);
        await using var stored = _dataSource.CreateCommand("select max(seq_id) from analytics.mt_events");
        Assert.Equal((long)(await stored.ExecuteScalarAsync())!, result.Ceiling);
    }

    private static ResponsesCompared Compared(Guid conversation, Guid comparison, Guid a, Guid b, ModelRef bModel, Preference preferred, int minutes) =>
        new(Guid.NewGuid(), T0.AddMinutes(minutes), 1, conversation, "it", comparison, [new ComparisonCandidate(a, Atlas), new ComparisonCandidate(b, bModel)],
            preferred, ["chat"], [FeedbackReason.TooVerbose]);

    private static ResponseRated RatedAt(Guid conversation, Guid turn, Rating rating, DateTimeOffset at) =>
        new(Guid.NewGuid(), at, 1, conversation, "it", turn, rating, [], Atlas, ["chat"]);
}
