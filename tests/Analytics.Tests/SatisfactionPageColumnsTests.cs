using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Satisfaction;
using JasperFx.Events;

namespace Analytics.Tests;

/// <summary>
/// The page statement's placeholders and the page's parameter arrays come from one column list
/// (<see cref="SatisfactionPageColumns"/>): the same count, each array as long as its row set, typed for its cast.
/// </summary>
public sealed class SatisfactionPageColumnsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 10, 17, 0, TimeSpan.Zero);
    private static readonly ModelRef Model = new("atlas", "2026-11");

    [Fact]
    public void Every_placeholder_of_the_page_statement_has_one_parameter_array_typed_for_its_cast()
    {
        var conversation = Guid.NewGuid();
        var turn = Guid.NewGuid();
        var other = Guid.NewGuid();
        var page = new SatisfactionPage(
        [
            Recorded(conversation, new ConversationStarted(Guid.NewGuid(), T0, 1, conversation, "it", "u", "ios", "de-DE", new Personalization(true), null)),
            Recorded(conversation, new ResponseGenerated(Guid.NewGuid(), T0.AddMinutes(1), 1, conversation, "it", turn, 0, Model, ["code_execution", "code_execution"],
                new Modality(["text"], ["text"]), 2000, 10, 20, new Moderation(false, []), null, "p", "r")),
            Recorded(conversation, new ResponseRated(Guid.NewGuid(), T0.AddMinutes(2), 1, conversation, "it", turn, Rating.Down,
                [FeedbackReason.CodeError, FeedbackReason.IgnoredInstructions], Model, ["code_execution"])),
            Recorded(conversation, new ResponseRated(Guid.NewGuid(), T0.AddMinutes(3), 1, conversation, "it", other, Rating.Up, [], Model, [])),
            Recorded(conversation, new ResponsesCompared(Guid.NewGuid(), T0.AddMinutes(4), 1, conversation, "it", Guid.NewGuid(),
                [new ComparisonCandidate(turn, Model), new ComparisonCandidate(other, new ModelRef("atlas", "2026-10"))], Preference.BothBad, [])),
        ]);

        var parameters = page.Parameters();
        var casts = System.Text.RegularExpressions.Regex.Matches(SatisfactionPageSql.Page, @"\?::(\w+)\[\]").Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(casts.Count, parameters.Length);
        var expected = new Dictionary<string, Type[]>
        {
            ["uuid"] = [typeof(Guid[])],
            ["timestamptz"] = [typeof(DateTimeOffset[])],
            ["text"] = [typeof(string[])],
            ["bool"] = [typeof(bool[])],
            ["int"] = [typeof(int[])],
        };
        for (var i = 0; i < casts.Count; i++)
        {
            Assert.Contains(parameters[i].GetType(), expected[casts[i]]);
        }

        // conversations 1, responses 1, ratings 2, comparisons 1; then the rated turn without its response, and both rated turns.
        Assert.Equal([1, 1, 2, 1, 1, 2], new[] { 0, 7, 23, 32, 45, 46 }.Select(i => ((Array)parameters[i]).Length));
        Assert.Equal("code_execution", ((string[])parameters[14])[0]); // capabilities without repeats
        Assert.Equal("code_error\u001fignored_instructions", ((string[])parameters[27]).Single(r => r.Length > 0));
        Assert.Equal("both_bad", ((string[])parameters[42])[0]);
    }

    [Fact]
    public void The_list_separator_is_the_same_character_in_CSharp_and_in_SQL()
    {
        Assert.Equal('\u001f', SatisfactionPageColumns.ListSeparator);
        Assert.Equal("chr(31)", SatisfactionPageColumns.ListSeparatorSql);
        Assert.DoesNotContain("chr(31)", SatisfactionPageSql.Page.Replace(SatisfactionPageColumns.ListSeparatorSql, "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_satisfaction_table_is_keyed_as_the_row_for_row_comparison_expects()
    {
        Assert.Equal(
        [
            ("analytics.sat_conversations", "conversation_id"),
            ("analytics.sat_responses", "turn_id"),
            ("analytics.sat_ratings", "turn_id"),
            ("analytics.sat_comparisons", "comparison_id"),
            ("analytics.sat_cells", "hour, model_id, model_version, capability, surface, custom_instructions, experiment_arm"),
            ("analytics.sat_cell_totals", "hour, model_id, model_version, capability"),
            ("analytics.sat_cell_days", "day, model_id, model_version, capability"),
            ("analytics.sat_cell_reasons", "model_id, capability, hour, model_version, reason"),
            ("analytics.sat_pair_counts", "capability, hour, model_x, model_y"),
        ], SatisfactionTables.Keys());
    }

    private static IEvent Recorded(Guid stream, object contract)
    {
        var data = RecordedEvent.From(contract, T0.AddHours(1));
        var e = (IEvent)Activator.CreateInstance(typeof(Event<>).MakeGenericType(data.GetType()), data)!;
        e.StreamId = stream;
        return e;
    }
}
