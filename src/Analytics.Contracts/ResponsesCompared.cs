namespace Analytics.Contracts;

/// <summary>A user compared two responses side by side and said which one they preferred.</summary>
public sealed record ResponsesCompared(
    Guid EventId,
    DateTimeOffset OccurredAt,
    int SchemaVersion,
    Guid ConversationId,
    string Source,
    Guid ComparisonId,
    IReadOnlyList<ComparisonCandidate> Candidates,
    Preference Preferred,
    IReadOnlyList<string> Capabilities,
    IReadOnlyList<FeedbackReason>? Reasons = null,
    string? Comment = null);
