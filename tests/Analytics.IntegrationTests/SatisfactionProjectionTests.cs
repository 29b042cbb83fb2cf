using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Ingesting;
using Analytics.Satisfaction;
using Marten;
using Marten.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// The satisfaction projection on a hand-made conversation, run by the real async daemon over the real
/// store; the expected counts are worked out by hand below.
/// </summary>
public sealed class SatisfactionProjectionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 10, 5, 0, TimeSpan.Zero);
    private static readonly ModelRef Atlas = new("atlas", "2026-11");
    private TestPlatform _platform = null!;
    private NpgsqlDataSource _dataSource = null!;
    private DocumentStore _store = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _dataSource = NpgsqlDataSource.Create(_platform.ConnectionString);
        _store = DocumentStore.For(options => EventStoreRegistration.ConfigureEventStore(options, _dataSource));
        await _store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
    }

    public async Task DisposeAsync()
    {
        _store.Dispose();
        await _dataSource.DisposeAsync();
        await _platform.DisposeAsync();
    }

    [Fact]
    public async Task Flips_withdrawals_early_ratings_stale_ratings_and_multi_capability_responses_count_as_worked_out_by_hand()
    {
        var conversation = Guid.NewGuid();
        Guid t1 = Guid.NewGuid(), t2 = Guid.NewGuid(), t3 = Guid.NewGuid(), t4 = Guid.NewGuid();
        object[] events =
        [
            new ConversationStarted(Guid.NewGuid(), T0, 1, conversation, "it", "u1", "web", "en-US", new Personalization(true)),
            Response(conversation, t1, 0, ["code_execution", "browsing"], minutes: 1),
            Rated(conversation, t1, Rating.Up, ["code_execution", "browsing"], minutes: 2),
            Rated(conversation, t1, Rating.Down, ["code_execution", "browsing"], minutes: 3, FeedbackReason.CodeError), // flip: up → down
            Response(conversation, t2, 1, ["chat"], minutes: 4),
            Rated(conversation, t2, Rating.Up, ["chat"], minutes: 5),
            Rated(conversation, t2, Rating.None, ["chat"], minutes: 6), // withdrawn
            Rated(conversation, t3, Rating.Up, ["chat"], minutes: 8), // arrives before its response
            Response(conversation, t3, 2, ["chat"], minutes: 7),
            Response(conversation, t4, 3, ["chat"], minutes: 9, regeneratedFrom: t2),
            Rated(conversation, t4, Rating.Up, ["chat"], minutes: 11),
            Rated(conversation, t4, Rating.Down, ["chat"], minutes: 10, FeedbackReason.TooVerbose), // older than the up: ignored
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

        var reasons = await queries.ReasonsAsync("atlas", null, "code_execution", T0.AddHours(-1), T0.AddHours(1), default);
        Assert.Equal([new ReasonCount("code_error", 1)], reasons);
        Assert.Empty(await queries.ReasonsAsync("atlas", null, "chat", T0.AddHours(-1), T0.AddHours(1), default));

        var web = await queries.OverTimeAsync("atlas", null, null, T0.AddHours(-1), T0.AddHours(1), "hour", new SliceFilter(Surface: "web"), default);
        Assert.Equal((4, 3), (web.Single().Responses, web.Single().Rated));
        Assert.Empty(await queries.OverTimeAsync("atlas", null, null, T0.AddHours(-1), T0.AddHours(1), "hour", new SliceFilter(Surface: "ios"), default));

        // A rebuild from the event store gives the same tables, row for row.
        var live = await TableRowsAsync();
        await daemon.RebuildProjectionAsync<SatisfactionProjection>(CancellationToken.None);
        Assert.Equal(live, await TableRowsAsync());
        Assert.NotEmpty(live);
    }

    private async Task<List<string>> TableRowsAsync()
    {
        var rows = new List<string>();
        foreach (var (table, key) in new[]
        {
            (SatisfactionProjection.Conversations, "conversation_id"), (SatisfactionProjection.Responses, "turn_id"),
            (SatisfactionProjection.Ratings, "turn_id"), (SatisfactionProjection.Comparisons, "comparison_id"),
            (SatisfactionProjection.Cells, "hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm"),
            (SatisfactionProjection.CellTotals, "hour, model_id, model_version, capability"),
        })
        {
            await using var command = _dataSource.CreateCommand($"select '{table}: ' || t::text from {table} t order by {key}");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetString(0));
            }
        }

        return rows;
    }

    private async Task AppendAsync(IEnumerable<object> contracts)
    {
        var appender = new FeedbackAppender(_store, _dataSource, Options.Create(new IngestionOptions()), NullLogger<FeedbackAppender>.Instance);
        var received = T0.AddHours(1);
        await appender.AppendAsync(contracts.Select(c => new AcceptedEvent(TestConversations.EventId(c),
            TestConversations.ConversationId(c), RecordedEvent.From(c, received))).ToList(), CancellationToken.None);
    }

    private static ResponseGenerated Response(Guid conversation, Guid turn, int index, string[] capabilities, int minutes, Guid? regeneratedFrom = null) =>
        new(Guid.NewGuid(), T0.AddMinutes(minutes), 1, conversation, "it", turn, index, Atlas, capabilities,
            new Modality(["text"], ["text"]), 1000, 10, 20, new Moderation(false, []), regeneratedFrom);

    private static ResponseRated Rated(Guid conversation, Guid turn, Rating rating, string[] capabilities, int minutes, params FeedbackReason[] reasons) =>
        new(Guid.NewGuid(), T0.AddMinutes(minutes), 1, conversation, "it", turn, rating, reasons, Atlas, capabilities);
}
