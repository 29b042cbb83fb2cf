using System.Text.Json.Nodes;
using Analytics.Contracts;

namespace Analytics.IntegrationTests;

/// <summary>Small, valid conversations: started, two responses, one rating (4 events each).</summary>
public static class TestConversations
{
    public static readonly DateTimeOffset At = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    public static List<object> Generate(int conversations)
    {
        var events = new List<object>();
        for (var i = 0; i < conversations; i++)
        {
            var conversationId = Guid.NewGuid();
            var model = new ModelRef(i % 2 == 0 ? "atlas" : "borealis", "2026-11");
            var first = Guid.NewGuid();
            var second = Guid.NewGuid();
            events.Add(new ConversationStarted(Guid.NewGuid(), At, 1, conversationId, "it", $"user-{i}", "web", "en-US",
                new Personalization(i % 3 == 0)));
            events.Add(new ResponseGenerated(Guid.NewGuid(), At.AddSeconds(1), 1, conversationId, "it", first, 0, model,
                ["chat"], new Modality(["text"], ["text"]), 900, 100, 200, new Moderation(false, [])));
            events.Add(new ResponseGenerated(Guid.NewGuid(), At.AddSeconds(2), 1, conversationId, "it", second, 1, model,
                ["browsing", "code_execution"], new Modality(["text"], ["text"]), 1900, 120, 400, new Moderation(false, [])));
            events.Add(new ResponseRated(Guid.NewGuid(), At.AddSeconds(3), 1, conversationId, "it", second,
                i % 4 == 0 ? Rating.Down : Rating.Up, i % 4 == 0 ? [FeedbackReason.BadCitation] : [], model, ["browsing", "code_execution"],
                i % 4 == 0 ? "the sources were wrong" : null));
        }

        return events;
    }

    /// <summary>An event as a producer publishes it (<see cref="FeedbackJson"/>), as a JSON object to edit or compare.</summary>
    public static JsonObject AsJson(object contract) => JsonNode.Parse(FeedbackJson.ToElement(contract).GetRawText())!.AsObject();

    public static Guid EventId(object contract) => (Guid)contract.GetType().GetProperty("EventId")!.GetValue(contract)!;

    public static Guid ConversationId(object contract) => (Guid)contract.GetType().GetProperty("ConversationId")!.GetValue(contract)!;
}
