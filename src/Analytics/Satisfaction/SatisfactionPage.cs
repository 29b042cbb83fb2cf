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

    /// <summary>
    /// The values of the page statement's parameters: one array per column of <see cref="SatisfactionPageColumns"/>'s row
    /// sets, in their order, then the stored responses the statement reads (besides duplicates of the page's responses)
    /// and the stored ratings.
    /// </summary>
    public object[] Parameters()
    {
        var touched = _responses.Keys.Union(_ratings.Keys).ToArray();
        var ratedWithoutResponse = _ratings.Keys.Where(turn => !_responses.ContainsKey(turn)).ToArray();
        return
        [
            .. SatisfactionPageColumns.Conversations.Parameters(
                _conversations.Select(c => new SatisfactionPageColumns.ConversationRow(c.Key, c.Value)).ToList()),
            .. SatisfactionPageColumns.Responses.Parameters(
                _responses.Select(r => new SatisfactionPageColumns.ResponseRow(r.Key, r.Value.ConversationId, r.Value.Data, r.Value.Earlier)).ToList()),
            .. SatisfactionPageColumns.Ratings.Parameters(
                _ratings.Select(r => new SatisfactionPageColumns.RatingRow(r.Key, r.Value.ConversationId, r.Value.Latest)).ToList()),
            .. SatisfactionPageColumns.Comparisons.Parameters(
                _comparisons.Select(c => new SatisfactionPageColumns.ComparisonRow(c.Key, c.Value.ConversationId, c.Value.First, c.Value.Latest)).ToList()),
            ratedWithoutResponse,
            touched,
        ];
    }
}
