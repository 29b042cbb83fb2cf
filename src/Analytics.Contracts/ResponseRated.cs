namespace Analytics.Contracts;

/// <summary>
/// A user rated a response. A later rating of the same turn replaces the earlier one;
/// <see cref="Rating.None"/> withdraws it.
/// </summary>
public sealed record ResponseRated(
    Guid EventId,
    DateTimeOffset OccurredAt,
    int SchemaVersion,
    Guid ConversationId,
    string Source,
    Guid TurnId,
    Rating Rating,
    IReadOnlyList<FeedbackReason> Reasons,
    ModelRef Model,
    IReadOnlyList<string> Capabilities,
    string? Comment = null);
