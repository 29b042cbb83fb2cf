using Analytics.Contracts;

namespace Analytics.Conversations;

// The events stored in a conversation's stream: the facts as the producer reported them, plus when
// and from where the platform received them. They are separate from the wire contracts so that a
// contract can evolve (v2, upcasting) without rewriting history.

public sealed record ConversationStartedRecorded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    DateTimeOffset ReceivedAt,
    string Source,
    string UserId,
    string Surface,
    string Locale,
    Personalization Personalization,
    ExperimentAssignment? Experiment);

public sealed record ResponseGeneratedRecorded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    DateTimeOffset ReceivedAt,
    string Source,
    Guid TurnId,
    int TurnIndex,
    ModelRef Model,
    IReadOnlyList<string> Capabilities,
    Modality Modality,
    Guid? RegeneratedFrom,
    int LatencyMs,
    int InputTokens,
    int OutputTokens,
    Moderation Moderation,
    string? PromptExcerpt,
    string? ResponseExcerpt);

public sealed record ResponseRatedRecorded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    DateTimeOffset ReceivedAt,
    string Source,
    Guid TurnId,
    Rating Rating,
    IReadOnlyList<FeedbackReason> Reasons,
    string? Comment,
    ModelRef Model,
    IReadOnlyList<string> Capabilities);

public sealed record ResponsesComparedRecorded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    DateTimeOffset ReceivedAt,
    string Source,
    Guid ComparisonId,
    IReadOnlyList<ComparisonCandidate> Candidates,
    Preference Preferred,
    IReadOnlyList<string> Capabilities,
    IReadOnlyList<FeedbackReason> Reasons,
    string? Comment);

/// <summary>Maps a validated wire contract to the event recorded in the store.</summary>
public static class RecordedEvent
{
    public static object From(object contract, DateTimeOffset receivedAt) => contract switch
    {
        ConversationStarted e => new ConversationStartedRecorded(e.EventId, e.OccurredAt, receivedAt, e.Source,
            e.UserId, e.Surface, e.Locale, e.Personalization, e.Experiment),
        ResponseGenerated e => new ResponseGeneratedRecorded(e.EventId, e.OccurredAt, receivedAt, e.Source,
            e.TurnId, e.TurnIndex, e.Model, e.Capabilities, e.Modality, e.RegeneratedFrom, e.LatencyMs,
            e.InputTokens, e.OutputTokens, e.Moderation, e.PromptExcerpt, e.ResponseExcerpt),
        ResponseRated e => new ResponseRatedRecorded(e.EventId, e.OccurredAt, receivedAt, e.Source,
            e.TurnId, e.Rating, e.Reasons, e.Comment, e.Model, e.Capabilities),
        ResponsesCompared e => new ResponsesComparedRecorded(e.EventId, e.OccurredAt, receivedAt, e.Source,
            e.ComparisonId, e.Candidates, e.Preferred, e.Capabilities, e.Reasons ?? [], e.Comment),
        _ => throw new ArgumentException($"Unknown contract {contract.GetType().Name}", nameof(contract)),
    };
}
