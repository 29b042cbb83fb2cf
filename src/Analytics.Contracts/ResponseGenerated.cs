namespace Analytics.Contracts;

/// <summary>A model produced a response in a conversation (one turn).</summary>
public sealed record ResponseGenerated(
    Guid EventId,
    DateTimeOffset OccurredAt,
    int SchemaVersion,
    Guid ConversationId,
    string Source,
    Guid TurnId,
    int TurnIndex,
    ModelRef Model,
    IReadOnlyList<string> Capabilities,
    Modality Modality,
    int LatencyMs,
    int InputTokens,
    int OutputTokens,
    Moderation Moderation,
    Guid? RegeneratedFrom = null,
    string? PromptExcerpt = null,
    string? ResponseExcerpt = null);
