using System.Text.Json;
using System.Text.Json.Nodes;
using Analytics.Contracts;

namespace Analytics.Tests;

/// <summary>Valid v1 events, and a way to break them one field at a time.</summary>
public static class SampleEvents
{
    public static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    public static ConversationStarted Started(Guid? conversationId = null) => new(
        Guid.NewGuid(), Now, 1, conversationId ?? Guid.NewGuid(), "chat-web", "user-123", "web", "en-US",
        new Personalization(true, "student"), new ExperimentAssignment("warmth-2026-11", "treatment"));

    public static ResponseGenerated Generated(Guid? conversationId = null, Guid? turnId = null) => new(
        Guid.NewGuid(), Now, 1, conversationId ?? Guid.NewGuid(), "chat-web", turnId ?? Guid.NewGuid(), 0,
        new ModelRef("atlas", "2026-11"), ["code_execution", "file_analysis"], new Modality(["text", "file"], ["text", "image"]),
        1800, 420, 310, new Moderation(false, []), null, "plot my csv", "Here is the plot");

    public static ResponseRated Rated(Guid? conversationId = null, Guid? turnId = null, Rating rating = Rating.Down) => new(
        Guid.NewGuid(), Now, 1, conversationId ?? Guid.NewGuid(), "chat-web", turnId ?? Guid.NewGuid(), rating,
        rating == Rating.Down ? [FeedbackReason.CodeError, FeedbackReason.RefusedUnnecessarily] : [],
        new ModelRef("atlas", "2026-11"), ["code_execution"], "the chart was empty");

    public static ResponsesCompared Compared(Guid? conversationId = null) => new(
        Guid.NewGuid(), Now, 1, conversationId ?? Guid.NewGuid(), "chat-web", Guid.NewGuid(),
        [new ComparisonCandidate(Guid.NewGuid(), new ModelRef("atlas", "2026-11")), new ComparisonCandidate(Guid.NewGuid(), new ModelRef("atlas", "2026-10"))],
        Preference.BothBad, ["browsing"], [FeedbackReason.BadCitation], null);

    public static IEnumerable<object> All() => [Started(), Generated(), Rated(), Compared()];

    public static JsonObject AsNode(object contract) => JsonNode.Parse(FeedbackJson.ToElement(contract).GetRawText())!.AsObject();

    public static JsonElement AsElement(JsonNode node) => JsonSerializer.SerializeToElement(node);
}
