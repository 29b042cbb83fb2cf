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
/// The fixture of a test of the views over the real event store, without a worker: an isolated platform
/// (<see cref="TestPlatform"/>) with the event store's schema applied, a data source and a Marten store on its database,
/// so the test appends hand-made events as the worker does (<see cref="AppendAsync"/>) and runs the projection daemon
/// itself. The events happen around <see cref="T0"/>; <see cref="Response"/> and <see cref="Rated"/> build them.
/// </summary>
public abstract class EventStoreTest(TimeSpan receivedAfterT0) : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 20, 10, 5, 0, TimeSpan.Zero);
    protected static readonly ModelRef Atlas = new("atlas", "2026-11");

#pragma warning disable SA1401, IDE1006 // the names the test classes used before they shared this base
    protected TestPlatform _platform = null!;
    protected NpgsqlDataSource _dataSource = null!;
    protected DocumentStore _store = null!;
#pragma warning restore SA1401, IDE1006

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _dataSource = NpgsqlDataSource.Create(_platform.ConnectionString);
        _store = DocumentStore.For(options => EventStoreRegistration.ConfigureEventStore(options, _dataSource));
        await _store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
    }

    public async Task DisposeAsync()
    {
        _store.ReleaseProjectionWakeup();
        _store.Dispose();
        await _dataSource.DisposeAsync();
        await _platform.DisposeAsync();
    }

    /// <summary>Stores events as the worker's appender does, all received at <see cref="T0"/> plus the fixture's delay.</summary>
    protected async Task AppendAsync(IEnumerable<object> contracts)
    {
        var appender = new FeedbackAppender(_store, _dataSource, Options.Create(new IngestionOptions()), NullLogger<FeedbackAppender>.Instance);
        var received = T0.Add(receivedAfterT0);
        await appender.AppendAsync(contracts.Select(c => new AcceptedEvent(TestConversations.EventId(c),
            TestConversations.ConversationId(c), RecordedEvent.From(c, received))).ToList(), CancellationToken.None);
    }

    /// <summary>Every row of the satisfaction views (<see cref="SatisfactionTables"/>), to compare two states row for row.</summary>
    protected Task<List<string>> TableRowsAsync() => SatisfactionTables.RowsAsync(_dataSource);

    /// <summary>The worker's rebuild-views: the same projection, set-based over mt_events.</summary>
    protected Task<SatisfactionRebuild.Result> SetBasedRebuildAsync() =>
        new SatisfactionRebuild(_store, _dataSource, NullLogger<SatisfactionRebuild>.Instance).RunAsync(null, CancellationToken.None);

    protected static ResponseGenerated Response(Guid conversation, Guid turn, int index, ModelRef model, string[] capabilities, int minutes,
        Guid? regeneratedFrom = null) =>
        new(Guid.NewGuid(), T0.AddMinutes(minutes), 1, conversation, "it", turn, index, model, capabilities,
            new Modality(["text"], ["text"]), 1000, 10, 20, new Moderation(false, []), regeneratedFrom);

    protected static ResponseRated Rated(Guid conversation, Guid turn, Rating rating, ModelRef model, string[] capabilities, int minutes,
        params FeedbackReason[] reasons) =>
        new(Guid.NewGuid(), T0.AddMinutes(minutes), 1, conversation, "it", turn, rating, reasons, model, capabilities);
}
