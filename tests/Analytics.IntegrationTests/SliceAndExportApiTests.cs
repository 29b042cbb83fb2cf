using System.Net.Http.Json;
using System.Text.Json;
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
/// Three hand-made conversations with different slices (surface, custom instructions, experiment arm), projected by the
/// daemon and read through the API: the matrix's slice filters, the /api/models answer, and the preference-pair export's
/// capability filter and its exclusion of ties and both-bad comparisons. Every expected number is counted by hand from
/// the table in <see cref="SlicedConversations"/>.
/// </summary>
public sealed class SliceAndExportApiTests(SlicedConversations data) : IClassFixture<SlicedConversations>
{
    private const string Window = "from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z";

    [Theory]
    [InlineData("", 6, 3, 3)] // r1 r2 r3 r4 r6 r7
    [InlineData("surface=web", 5, 3, 2)] // r1 r2 r4 r6 r7
    [InlineData("surface=ios", 1, 0, 1)] // r3
    [InlineData("customInstructions=true", 4, 2, 2)] // r3 r4 r6 r7
    [InlineData("customInstructions=false", 2, 1, 1)] // r1 r2
    [InlineData("experimentArm=b", 1, 0, 1)] // r3
    [InlineData("surface=web&customInstructions=true", 3, 2, 1)] // r4 r6 r7
    [InlineData("surface=web&experimentArm=a", 2, 1, 1)] // r1 r2
    public async Task The_matrix_counts_only_the_conversations_of_its_slice(string slice, long responses, long up, long down)
    {
        var cells = await MatrixAsync(slice);

        Assert.Equal((responses, responses, up, down), cells[("atlas", "2026-11", "*")]);
    }

    [Fact]
    public async Task A_slice_leaves_out_the_cells_it_has_no_responses_for_and_filters_every_capability()
    {
        var all = await MatrixAsync("");
        Assert.Equal((1L, 1L, 1L, 0L), all[("borealis", "2026-11", "*")]); // r5
        Assert.Equal((1L, 1L, 0L, 1L), all[("atlas", "2026-11", "browsing")]); // r2

        var ios = await MatrixAsync("surface=ios");
        Assert.DoesNotContain(("borealis", "2026-11", "*"), ios.Keys);
        Assert.DoesNotContain(("atlas", "2026-11", "browsing"), ios.Keys);
        Assert.Equal((1L, 1L, 0L, 1L), ios[("atlas", "2026-11", "chat")]);

        var armA = await MatrixAsync("experimentArm=a");
        Assert.Equal((1L, 1L, 0L, 1L), armA[("atlas", "2026-11", "browsing")]);
        Assert.DoesNotContain(("atlas", "2026-11", "code_execution"), armA.Keys);
        Assert.Empty(await MatrixAsync("experimentArm=c"));
    }

    [Fact]
    public async Task The_models_answer_lists_every_model_version_with_its_responses_and_when_it_was_seen()
    {
        var models = await ApiClients.Viewer(data.Api).GetFromJsonAsync<JsonElement>("/api/models");

        var listed = models.EnumerateArray().Select(m => (m.GetProperty("modelId").GetString(), m.GetProperty("version").GetString(),
            m.GetProperty("responses").GetInt64(), m.GetProperty("firstSeen").GetDateTimeOffset(), m.GetProperty("lastSeen").GetDateTimeOffset())).ToList();
        List<(string?, string?, long, DateTimeOffset, DateTimeOffset)> expected =
        [
            ("atlas", "2026-10", 1L, SlicedConversations.At(0), SlicedConversations.At(0)),
            ("atlas", "2026-11", 6L, SlicedConversations.At(1), SlicedConversations.At(7)),
            ("borealis", "2026-11", 1L, SlicedConversations.At(5), SlicedConversations.At(5)),
        ];
        Assert.Equal(expected, listed);
    }

    [Theory]
    [InlineData("", new[] { "r7", "cmp1", "cmp2" })] // in time order: r7 at 10:07, the comparisons from 10:39
    [InlineData("capability=chat", new[] { "cmp1" })]
    [InlineData("capability=browsing", new[] { "cmp2" })]
    [InlineData("capability=code_execution", new[] { "r7" })]
    [InlineData("capability=voice", new string[0])]
    public async Task The_export_filters_on_the_capability_and_leaves_out_ties_and_both_bad(string filter, string[] expected)
    {
        var response = await ApiClients.WithKey(data.Api, "local-dev-exporter-key").GetAsync($"/api/exports/preference-pairs?{Window}&{filter}");
        response.EnsureSuccessStatusCode();
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonSerializer.Deserialize<JsonElement>(line)).ToList();

        Assert.Equal(expected.Select(name => data.Ids[name]), lines.Select(l => l.GetProperty("id").GetGuid()));
        Assert.DoesNotContain(lines, l => l.GetProperty("id").GetGuid() == data.Ids["cmp3 both bad"] || l.GetProperty("id").GetGuid() == data.Ids["cmp4 tie"]);
        if (expected.Contains("cmp2"))
        {
            // b was preferred: the chosen side is borealis's r5, the rejected one atlas's r2.
            var cmp2 = lines.Single(l => l.GetProperty("id").GetGuid() == data.Ids["cmp2"]);
            Assert.Equal(data.Ids["r5"], cmp2.GetProperty("chosen").GetProperty("turnId").GetGuid());
            Assert.Equal("borealis@2026-11", cmp2.GetProperty("chosen").GetProperty("model").GetString());
            Assert.Equal(data.Ids["r2"], cmp2.GetProperty("rejected").GetProperty("turnId").GetGuid());
        }
    }

    private async Task<Dictionary<(string, string, string), (long Responses, long Rated, long Up, long Down)>> MatrixAsync(string slice)
    {
        var answer = await ApiClients.Viewer(data.Api).GetFromJsonAsync<JsonElement>($"/api/satisfaction/matrix?{Window}&{slice}");
        return answer.GetProperty("items").EnumerateArray().ToDictionary(
            c => (c.GetProperty("modelId").GetString()!, c.GetProperty("version").GetString()!, c.GetProperty("capability").GetString()!),
            c => (c.GetProperty("responses").GetInt64(), c.GetProperty("rated").GetInt64(), c.GetProperty("up").GetInt64(), c.GetProperty("down").GetInt64()));
    }
}

/// <summary>
/// The conversations of <see cref="SliceAndExportApiTests"/>, on 2026-11-20 from 10:00 (response rN at 10:0N, rated a
/// minute later):
/// <code>
/// C1  web, no custom instructions, experiment arm a   r0 atlas@2026-10 [chat] unrated; r1 atlas [chat] up; r2 atlas [chat, browsing] down
/// C2  ios, custom instructions,    experiment arm b   r3 atlas [chat] down
/// C3  web, custom instructions,    no experiment      r4 atlas [chat] up; r5 borealis [chat] up; r6 atlas [code_execution] down;
///                                                     r7 atlas [code_execution] regenerates r6, up
/// comparisons in C3: cmp1 r4 vs r5 [chat] a; cmp2 r2 vs r5 [browsing] b; cmp3 r4 vs r5 [chat] both bad; cmp4 r4 vs r5 [chat] tie
/// </code>
/// </summary>
public sealed class SlicedConversations : IAsyncLifetime
{
    private static readonly DateTimeOffset Morning = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);
    private static readonly ModelRef Atlas = new("atlas", "2026-11");
    private static readonly ModelRef AtlasBefore = new("atlas", "2026-10");
    private static readonly ModelRef Borealis = new("borealis", "2026-11");

    public TestPlatform Platform { get; private set; } = null!;

    public WebApplicationFactory<Program> Api { get; private set; } = null!;

    /// <summary>Turn ids (r0…r7) and comparison ids (cmp1…) by name.</summary>
    public Dictionary<string, Guid> Ids { get; } = [];

    public static DateTimeOffset At(int response) => Morning.AddMinutes(response);

    public async Task InitializeAsync()
    {
        Platform = await TestPlatform.CreateAsync();
        Api = ApiClients.For(Platform);
        var events = new List<(Guid Conversation, object Event)>();
        Guid Conversation(string surface, bool customInstructions, string? arm)
        {
            var id = Guid.NewGuid();
            events.Add((id, new ConversationStarted(Guid.NewGuid(), Morning.AddMinutes(-5), 1, id, "it", "u", surface, "en-US",
                new Personalization(customInstructions), arm is null ? null : new ExperimentAssignment("x", arm))));
            return id;
        }

        void Respond(Guid conversation, int n, ModelRef model, string[] capabilities, Rating? rating, string? regenerates = null)
        {
            var turn = Ids[$"r{n}"] = Guid.NewGuid();
            events.Add((conversation, new ResponseGenerated(Guid.NewGuid(), At(n), 1, conversation, "it", turn, n, model, capabilities,
                new Modality(["text"], ["text"]), 1000, 10, 20, new Moderation(false, []), regenerates is null ? null : Ids[regenerates],
                $"prompt {n}", $"response {n}")));
            if (rating is { } given)
            {
                events.Add((conversation, new ResponseRated(Guid.NewGuid(), At(n).AddMinutes(1), 1, conversation, "it", turn, given, [], model, capabilities)));
            }
        }

        void Compare(Guid conversation, string name, string a, string b, Preference preferred, string capability)
        {
            var comparison = Ids[name] = Guid.NewGuid();
            events.Add((conversation, new ResponsesCompared(Guid.NewGuid(), Morning.AddMinutes(30 + Ids.Count), 1, conversation, "it", comparison,
                [new ComparisonCandidate(Ids[a], a == "r5" ? Borealis : Atlas), new ComparisonCandidate(Ids[b], b == "r5" ? Borealis : Atlas)],
                preferred, [capability])));
        }

        var c1 = Conversation("web", false, "a");
        Respond(c1, 0, AtlasBefore, ["chat"], null);
        Respond(c1, 1, Atlas, ["chat"], Rating.Up);
        Respond(c1, 2, Atlas, ["chat", "browsing"], Rating.Down);
        var c2 = Conversation("ios", true, "b");
        Respond(c2, 3, Atlas, ["chat"], Rating.Down);
        var c3 = Conversation("web", true, null);
        Respond(c3, 4, Atlas, ["chat"], Rating.Up);
        Respond(c3, 5, Borealis, ["chat"], Rating.Up);
        Respond(c3, 6, Atlas, ["code_execution"], Rating.Down);
        Respond(c3, 7, Atlas, ["code_execution"], Rating.Up, regenerates: "r6");
        Compare(c3, "cmp1", "r4", "r5", Preference.A, "chat");
        Compare(c3, "cmp2", "r2", "r5", Preference.B, "browsing");
        Compare(c3, "cmp3 both bad", "r4", "r5", Preference.BothBad, "chat");
        Compare(c3, "cmp4 tie", "r4", "r5", Preference.Tie, "chat");

        var store = (DocumentStore)Api.Services.GetRequiredService<IDocumentStore>();
        var appender = new FeedbackAppender(store, Api.Services.GetRequiredService<NpgsqlDataSource>(), Options.Create(new IngestionOptions()),
            NullLogger<FeedbackAppender>.Instance);
        await appender.AppendAsync(events.Select(e => new AcceptedEvent(TestConversations.EventId(e.Event), e.Conversation,
            RecordedEvent.From(e.Event, Morning.AddHours(1)))).ToList(), CancellationToken.None);
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
