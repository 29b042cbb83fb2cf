using Analytics.Conversations;
using JasperFx.Events;

namespace Analytics.Satisfaction;

/// <summary>
/// One page of events from the daemon, folded into at most one row per key and table, as if the events had been
/// applied one after the other: the first conversation start and the first copy of a response win; for a rating or a
/// comparison the latest occurredAt wins (on a tie the later event). A response takes its slice from its
/// conversation as known when it was projected: stored before the page, else started earlier in the page, else
/// unknown. <see cref="SatisfactionProjection"/> writes the folded rows with one set-based statement that reads the
/// prior state and moves the counters by the difference.
/// </summary>
public sealed class SatisfactionPage
{
    /// <summary>Joins a list column (capabilities, reasons) into one text value; the page SQL splits it again.</summary>
    public const char ListSeparator = '\u001f';

    private readonly Dictionary<Guid, ConversationStartedRecorded> _conversations = [];
    private readonly Dictionary<Guid, (Guid ConversationId, ResponseGeneratedRecorded Data, ConversationStartedRecorded? Earlier)> _responses = [];
    private readonly Dictionary<Guid, (Guid ConversationId, ResponseRatedRecorded Latest)> _ratings = [];
    private readonly Dictionary<Guid, (Guid ConversationId, ResponsesComparedRecorded First, ResponsesComparedRecorded Latest)> _comparisons = [];

    public SatisfactionPage(IReadOnlyList<IEvent> events)
    {
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case ConversationStartedRecorded started:
                    _conversations.TryAdd(e.StreamId, started);
                    break;
                case ResponseGeneratedRecorded response when !_responses.ContainsKey(response.TurnId):
                    // Only conversations started earlier in the page are in the dictionary yet.
                    _responses.Add(response.TurnId, (e.StreamId, response, _conversations.GetValueOrDefault(e.StreamId)));
                    break;
                case ResponseRatedRecorded rating:
                    _ratings[rating.TurnId] = _ratings.TryGetValue(rating.TurnId, out var r)
                        ? (r.ConversationId, Replaces(rating.OccurredAt, r.Latest.OccurredAt) ? rating : r.Latest)
                        : (e.StreamId, rating);
                    break;
                case ResponsesComparedRecorded comparison:
                    _comparisons[comparison.ComparisonId] = _comparisons.TryGetValue(comparison.ComparisonId, out var k)
                        ? (k.ConversationId, k.First, Replaces(comparison.OccurredAt, k.Latest.OccurredAt) ? comparison : k.Latest)
                        : (e.StreamId, comparison, comparison);
                    break;
            }
        }
    }

    public bool IsEmpty => _conversations.Count == 0 && _responses.Count == 0 && _ratings.Count == 0 && _comparisons.Count == 0;

    /// <summary>
    /// A later event replaces the stored one when it did not occur before it, compared at PostgreSQL's precision
    /// (microseconds, as Npgsql writes them), the same comparison the row-at-a-time upsert made.
    /// </summary>
    private static bool Replaces(DateTimeOffset later, DateTimeOffset stored) => later.UtcTicks / 10 >= stored.UtcTicks / 10;

    private static string Join(IEnumerable<string> values) => string.Join(ListSeparator, values);

    /// <summary>The values of the page statement's parameters, in the order of <see cref="SatisfactionProjection"/>'s page SQL.</summary>
    public object[] Parameters()
    {
        var conversations = _conversations.Values;
        var responses = _responses.Values;
        var ratings = _ratings.Values;
        var comparisons = _comparisons.Values;
        var touched = _responses.Keys.Union(_ratings.Keys).ToArray();
        var ratedWithoutResponse = _ratings.Keys.Where(turn => !_responses.ContainsKey(turn)).ToArray();
        return
        [
            // conversation rows
            _conversations.Keys.ToArray(),
            conversations.Select(c => c.OccurredAt.ToUniversalTime()).ToArray(),
            conversations.Select(c => c.Surface).ToArray(),
            conversations.Select(c => c.Locale).ToArray(),
            conversations.Select(c => c.Personalization.CustomInstructions).ToArray(),
            conversations.Select(c => c.Experiment?.Id).ToArray(),
            conversations.Select(c => c.Experiment?.Arm).ToArray(),

            // response rows
            _responses.Keys.ToArray(),
            responses.Select(r => r.ConversationId).ToArray(),
            responses.Select(r => r.Data.OccurredAt.ToUniversalTime()).ToArray(),
            responses.Select(r => SatisfactionProjection.HourOf(r.Data.OccurredAt)).ToArray(),
            responses.Select(r => r.Data.Model.Id).ToArray(),
            responses.Select(r => r.Data.Model.Version).ToArray(),
            responses.Select(r => r.Data.Model.Variant).ToArray(),
            responses.Select(r => Join(r.Data.Capabilities.Distinct())).ToArray(),
            responses.Select(r => r.Data.TurnIndex).ToArray(),
            responses.Select(r => r.Data.LatencyMs).ToArray(),
            responses.Select(r => r.Data.RegeneratedFrom?.ToString()).ToArray(),
            responses.Select(r => r.Data.PromptExcerpt).ToArray(),
            responses.Select(r => r.Data.ResponseExcerpt).ToArray(),
            responses.Select(r => r.Earlier?.Surface).ToArray(),
            responses.Select(r => r.Earlier is { } c ? (c.Personalization.CustomInstructions ? "true" : "false") : null).ToArray(),
            responses.Select(r => r.Earlier is { } c ? c.Experiment?.Arm ?? SatisfactionProjection.Unknown : null).ToArray(),

            // rating rows: the conversation of the first rating (never updated), the rest from the latest
            _ratings.Keys.ToArray(),
            ratings.Select(r => r.ConversationId).ToArray(),
            ratings.Select(r => r.Latest.OccurredAt.ToUniversalTime()).ToArray(),
            ratings.Select(r => SatisfactionProjection.Wire(r.Latest.Rating)).ToArray(),
            ratings.Select(r => Join(SatisfactionProjection.Wire(r.Latest.Reasons))).ToArray(),
            ratings.Select(r => r.Latest.Comment).ToArray(),
            ratings.Select(r => r.Latest.Model.Id).ToArray(),
            ratings.Select(r => r.Latest.Model.Version).ToArray(),
            ratings.Select(r => Join(r.Latest.Capabilities.Distinct())).ToArray(),

            // comparison rows: what the first copy inserted, with occurredAt, preference and reasons of the latest
            _comparisons.Keys.ToArray(),
            comparisons.Select(c => c.ConversationId).ToArray(),
            comparisons.Select(c => c.Latest.OccurredAt.ToUniversalTime()).ToArray(),
            comparisons.Select(c => SatisfactionProjection.HourOf(c.First.OccurredAt)).ToArray(),
            comparisons.Select(c => c.First.Candidates[0].TurnId).ToArray(),
            comparisons.Select(c => c.First.Candidates[0].Model.Id).ToArray(),
            comparisons.Select(c => c.First.Candidates[0].Model.Version).ToArray(),
            comparisons.Select(c => c.First.Candidates[1].TurnId).ToArray(),
            comparisons.Select(c => c.First.Candidates[1].Model.Id).ToArray(),
            comparisons.Select(c => c.First.Candidates[1].Model.Version).ToArray(),
            comparisons.Select(c => SatisfactionProjection.Wire(c.Latest.Preferred)).ToArray(),
            comparisons.Select(c => Join(c.First.Capabilities.Distinct())).ToArray(),
            comparisons.Select(c => Join(SatisfactionProjection.Wire(c.Latest.Reasons))).ToArray(),

            // the stored responses the statement reads (besides duplicates of the page's responses), then the stored ratings
            ratedWithoutResponse,
            touched,
        ];
    }
}
