using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Ingesting;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// A platform database with hand-made responses, ratings and comparisons around one morning (2026-11-20), projected by
/// the daemon in process, and the API host over it. Times are chosen so that a window from 09:25:46 to 11:10 (mid-hour at
/// both ends) has events inside it, in its partial first and last hours, and outside those hours.
/// </summary>
public sealed class SeededReadApi : IAsyncLifetime
{
    public static readonly DateTimeOffset Day = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
    public static readonly ModelRef Atlas = new("atlas", "2026-11");
    public static readonly ModelRef Borealis = new("borealis", "2026-11");

    private readonly Guid _conversation = Guid.NewGuid();

    public TestPlatform Platform { get; private set; } = null!;

    public WebApplicationFactory<Program> Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Platform = await TestPlatform.CreateAsync();
        Api = ApiClients.For(Platform);
        var events = new List<object>
        {
            new ConversationStarted(Guid.NewGuid(), Day.AddHours(8), 1, _conversation, "it", "u", "web", "en-US", new Personalization(false)),
        };
        var turns = new Dictionary<string, (Guid Turn, ModelRef Model)>();

        // Responses (each rated a minute later): time, name, model, capabilities, rating, reasons.
        void Respond(TimeSpan at, string name, ModelRef model, string[] capabilities, Rating rating, FeedbackReason[] reasons)
        {
            var turn = Guid.NewGuid();
            turns[name] = (turn, model);
            events.Add(new ResponseGenerated(Guid.NewGuid(), Day.Add(at), 1, _conversation, "it", turn, turns.Count - 1, model, capabilities,
                new Modality(["text"], ["text"]), 1000, 10, 20, new Moderation(false, [])));
            events.Add(new ResponseRated(Guid.NewGuid(), Day.Add(at).AddMinutes(1), 1, _conversation, "it", turn, rating, reasons, model, capabilities));
        }

        Respond(new TimeSpan(8, 50, 0), "r0", Atlas, ["chat"], Rating.Up, []);
        Respond(new TimeSpan(9, 10, 0), "r1", Atlas, ["chat"], Rating.Down, [FeedbackReason.BadCitation]);
        Respond(new TimeSpan(9, 40, 0), "r2", Borealis, ["chat"], Rating.Up, []);
        Respond(new TimeSpan(10, 30, 0), "r3", Atlas, ["chat", "code_execution"], Rating.Down, [FeedbackReason.CodeError, FeedbackReason.Inaccurate]);
        Respond(new TimeSpan(11, 5, 0), "r4", Borealis, ["chat"], Rating.Down, [FeedbackReason.TooVerbose]);
        Respond(new TimeSpan(11, 30, 0), "r5", Atlas, ["chat"], Rating.Down, [FeedbackReason.BadCitation]);
        Respond(new TimeSpan(12, 5, 0), "r6", Borealis, ["chat"], Rating.Up, []);
        Respond(new TimeSpan(26, 0, 0), "r7", Atlas, ["chat"], Rating.Up, []); // the next day, 02:00

        // Comparisons of an atlas turn with a borealis turn: time, preference.
        foreach (var (at, preferred) in new[]
                 {
                     (new TimeSpan(8, 55, 0), Preference.B), (new TimeSpan(9, 15, 0), Preference.A), (new TimeSpan(9, 50, 0), Preference.A),
                     (new TimeSpan(10, 5, 0), Preference.B), (new TimeSpan(11, 50, 0), Preference.Tie), (new TimeSpan(12, 10, 0), Preference.A),
                 })
        {
            events.Add(new ResponsesCompared(Guid.NewGuid(), Day.Add(at), 1, _conversation, "it", Guid.NewGuid(),
                [new ComparisonCandidate(turns["r1"].Turn, Atlas), new ComparisonCandidate(turns["r2"].Turn, Borealis)], preferred, ["chat"]));
        }

        await AppendAsync(events);
        await ProjectAsync();
    }

    public async Task AppendAsync(IReadOnlyList<object> events)
    {
        var store = (DocumentStore)Api.Services.GetRequiredService<IDocumentStore>();
        var appender = new FeedbackAppender(store, Api.Services.GetRequiredService<NpgsqlDataSource>(), Options.Create(new IngestionOptions()),
            NullLogger<FeedbackAppender>.Instance);
        await appender.AppendAsync(events.Select(e => new AcceptedEvent(TestConversations.EventId(e), TestConversations.ConversationId(e),
            RecordedEvent.From(e, DateTimeOffset.UtcNow))).ToList(), CancellationToken.None);
    }

    /// <summary>Runs the projection daemon until the views have processed every stored event, then stops it.</summary>
    public async Task ProjectAsync()
    {
        var store = (DocumentStore)Api.Services.GetRequiredService<IDocumentStore>();
        using var daemon = await store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        await daemon.StopAllAsync();
        store.ReleaseProjectionWakeup(); // left open as the application role, it keeps the database from being dropped
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Platform.DisposeAsync();
    }
}
