namespace Analytics.Contracts;

/// <summary>A user started a conversation in a chat product.</summary>
public sealed record ConversationStarted(
    Guid EventId,
    DateTimeOffset OccurredAt,
    int SchemaVersion,
    Guid ConversationId,
    string Source,
    string UserId,
    string Surface,
    string Locale,
    Personalization Personalization,
    ExperimentAssignment? Experiment = null);
