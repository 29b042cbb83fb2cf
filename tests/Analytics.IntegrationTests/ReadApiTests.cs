using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Ingesting;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>Leaderboard, head-to-head, conversation drill-down and preference export over a hand-made conversation.</summary>
public sealed class ReadApiTests : ApiPlatformTest
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);
    private static readonly ModelRef New = new("atlas", "2026-11");
    private static readonly ModelRef Old = new("atlas", "2026-10");
    private const string Window = "from=2026-11-19T00:00:00Z&to=2026-11-21T00:00:00Z";
    private readonly Guid _conversation = Guid.NewGuid();
    private readonly Guid _first = Guid.NewGuid();
    private readonly Guid _regenerated = Guid.NewGuid();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var store = (DocumentStore)_api.Services.GetRequiredService<IDocumentStore>();
        var appender = new FeedbackAppender(store, _api.Services.GetRequiredService<NpgsqlDataSource>(), Options.Create(new IngestionOptions()), NullLogger<FeedbackAppender>.Instance);

        var events = new List<object>
        {
            new ConversationStarted(Guid.NewGuid(), T0, 1, _conversation, "it", "u", "ios", "de-DE", new Personalization(false), new ExperimentAssignment("x", "b")),
            Response(_first, 0, null, "plot this csv", "here is an empty chart"),
            Response(_regenerated, 1, _first, "plot this csv", "here is the chart with 3 series"),
            new ResponseRated(Guid.NewGuid(), T0.AddMinutes(5), 1, _conversation, "it", _regenerated, Rating.Up, [], New, ["code_execution"]),
        };
        // New beats old 3 times, loses once, one tie: comparisons in the same conversation.
        foreach (var preferred in new[] { Preference.A, Preference.A, Preference.B, Preference.A, Preference.Tie })
        {
            events.Add(new ResponsesCompared(Guid.NewGuid(), T0.AddMinutes(6), 1, _conversation, "it", Guid.NewGuid(),
                [new ComparisonCandidate(_regenerated, New), new ComparisonCandidate(_first, Old)], preferred, ["code_execution"]));
        }

        await appender.AppendAsync(events.Select(e => new AcceptedEvent(TestConversations.EventId(e), _conversation,
            RecordedEvent.From(e, T0.AddHours(1)))).ToList(), CancellationToken.None);
        using var daemon = await store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        await daemon.StopAllAsync();
        store.ReleaseProjectionWakeup(); // left open as the application role, it keeps the database from being dropped
    }

    [Fact]
    public async Task The_api_has_each_statement_planned_for_its_values_and_the_worker_keeps_the_servers_default()
    {
        await using (var api = await _api.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync())
        {
            Assert.Equal("force_custom_plan", await PlanCacheModeAsync(api));
        }

        await using var workerSource = EventStoreRegistration.CreateDataSource(_platform.ConnectionString);
        await using var worker = await workerSource.OpenConnectionAsync();
        Assert.Equal("auto", await PlanCacheModeAsync(worker));

        static async Task<string?> PlanCacheModeAsync(NpgsqlConnection connection)
        {
            await using var show = new NpgsqlCommand("show plan_cache_mode", connection);
            return (string?)await show.ExecuteScalarAsync();
        }
    }

    [Fact]
    public async Task The_leaderboard_and_head_to_head_count_ties_as_half()
    {
        var client = ApiClients.Viewer(_api);
        var board = await client.GetFromJsonAsync<JsonElement>($"/api/comparisons/leaderboard?capability=code_execution&{Window}&bootstrap=50");
        var models = board.GetProperty("items").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        // 3.5 : 1.5 → 400·log10(7/3) ≈ 147 Elo apart (the weak prior pulls it in by a fraction of a point).
        Assert.InRange(models["atlas@2026-11"].GetProperty("rating").GetDouble() - models["atlas@2026-10"].GetProperty("rating").GetDouble(), 145, 148);
        Assert.Equal(5, models["atlas@2026-11"].GetProperty("comparisons").GetInt64());

        var pairs = await client.GetFromJsonAsync<JsonElement>($"/api/comparisons/head-to-head?{Window}");
        var pair = Assert.Single(pairs.GetProperty("items").EnumerateArray());
        Assert.Equal("atlas@2026-10", pair.GetProperty("modelA").GetString()); // alphabetical order
        Assert.Equal((1, 3, 1), (pair.GetProperty("aWins").GetInt64(), pair.GetProperty("bWins").GetInt64(), pair.GetProperty("ties").GetInt64()));
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>($"/api/comparisons/head-to-head?capability=voice&{Window}")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task The_conversation_view_shows_turns_ratings_slices_and_comparisons()
    {
        var view = await ApiClients.Viewer(_api).GetFromJsonAsync<JsonElement>($"/api/conversations/{_conversation}");
        Assert.Equal("ios", view.GetProperty("surface").GetString());
        Assert.Equal("b", view.GetProperty("experimentArm").GetString());
        var turns = view.GetProperty("turns").EnumerateArray().ToList();
        Assert.Equal(2, turns.Count);
        Assert.Equal(JsonValueKind.Null, turns[0].GetProperty("rating").ValueKind);
        Assert.Equal("up", turns[1].GetProperty("rating").GetProperty("rating").GetString());
        Assert.Equal(_first, turns[1].GetProperty("regeneratedFrom").GetGuid());
        Assert.Equal(5, view.GetProperty("comparisons").GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await ApiClients.Viewer(_api).GetAsync($"/api/conversations/{Guid.NewGuid()}")).StatusCode);
    }

    [Fact]
    public async Task Preference_pairs_are_exported_as_json_lines_from_comparisons_with_a_winner_and_from_regenerations_rated_up()
    {
        var response = await ApiClients.WithKey(_api, "local-dev-exporter-key").GetAsync($"/api/exports/preference-pairs?{Window}");
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();

        Assert.Equal(4 + 1, lines.Count); // 4 comparisons with a winner (the tie has none) + 1 regeneration
        var regeneration = Assert.Single(lines, l => l.GetProperty("source").GetString() == "regeneration");
        Assert.Equal(_regenerated, regeneration.GetProperty("chosen").GetProperty("turnId").GetGuid());
        Assert.Equal(_first, regeneration.GetProperty("rejected").GetProperty("turnId").GetGuid());
        Assert.Equal("plot this csv", regeneration.GetProperty("prompt").GetString());
        Assert.Equal("here is an empty chart", regeneration.GetProperty("rejected").GetProperty("response").GetString());
        Assert.Equal(3, lines.Count(l => l.GetProperty("source").GetString() == "comparison" && l.GetProperty("chosen").GetProperty("model").GetString() == "atlas@2026-11"));
    }

    private ResponseGenerated Response(Guid turn, int index, Guid? regeneratedFrom, string prompt, string response) =>
        new(Guid.NewGuid(), T0.AddMinutes(index + 1), 1, _conversation, "it", turn, index, index == 0 ? Old : New, ["code_execution"],
            new Modality(["text"], ["text", "image"]), 2000, 10, 20, new Moderation(false, []), regeneratedFrom, prompt, response);
}
