using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Analytics.Contracts;

// The namespace the test projects and the benchmarks have always used for this type: their files keep compiling unchanged.
namespace Analytics.FaultTests;

/// <summary>One message on the ingestion exchange and the eventIds it carries.</summary>
public sealed record LedgerMessage(Guid[] EventIds, byte[] Body);

/// <summary>
/// Deterministic feedback traffic for the ledger: one message per conversation (a start, two responses, one or two
/// ratings, spread over two days and three models, with flips and withdrawals), and schema-invalid messages.
/// </summary>
public static class LedgerTraffic
{
    public static readonly DateTimeOffset Start = new(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
    private static readonly ModelRef[] Models = [new("atlas", "2026-11"), new("borealis", "2026-10"), new("cirrus", "2026-11")];

    public static List<LedgerMessage> Conversations(int count, int seed)
    {
        var random = new Random(seed);
        var messages = new List<LedgerMessage>(count);
        for (var i = 0; i < count; i++)
        {
            var events = Conversation(random, i);
            messages.Add(new LedgerMessage(events.Select(EventIdOf).ToArray(),
                Encoding.UTF8.GetBytes(JsonSerializer.Serialize(FeedbackEventBatch.From(events)))));
        }

        return messages;
    }

    /// <summary>A single valid rating in its own message (the poison message's shape).</summary>
    public static LedgerMessage SingleRating(Guid eventId)
    {
        var random = new Random(eventId.GetHashCode());
        var rating = new ResponseRated(eventId, Start.AddHours(3), 1, SeededId(random), "faults", SeededId(random), Rating.Up, [],
            Models[0], ["chat"]);
        return new LedgerMessage([eventId], Encoding.UTF8.GetBytes(FeedbackJson.ToElement(rating).GetRawText()));
    }

    /// <summary>Messages of one event each that the worker's validation must refuse, of several kinds.</summary>
    public static List<LedgerMessage> SchemaInvalid(int count, int seed)
    {
        var random = new Random(seed);
        var messages = new List<LedgerMessage>(count);
        for (var i = 0; i < count; i++)
        {
            var valid = Conversation(random, i)[2]; // a response
            var node = JsonNode.Parse(FeedbackJson.ToElement(valid).GetRawText())!.AsObject();
            switch (i % 4)
            {
                case 0:
                    node.Remove("turnId"); // a required field missing
                    break;
                case 1:
                    node["latencyMs"] = "fast"; // a field of the wrong type
                    break;
                case 2:
                    node["type"] = "ResponseTeleported"; // an unknown event type
                    break;
                default:
                    node["occurredAt"] = DateTimeOffset.UtcNow.AddDays(30).ToString("O"); // in the future
                    break;
            }

            messages.Add(new LedgerMessage([EventIdOf(valid)], Encoding.UTF8.GetBytes(node.ToJsonString())));
        }

        return messages;
    }

    private static List<object> Conversation(Random random, int index)
    {
        var conversationId = SeededId(random);
        var at = Start.AddMinutes(random.Next(0, 48 * 60));
        var model = Models[index % Models.Length];
        Guid first = SeededId(random), second = SeededId(random);
        var capabilities = random.Next(3) switch { 0 => new[] { "chat" }, 1 => ["browsing"], _ => ["browsing", "code_execution"] };
        var events = new List<object>
        {
            new ConversationStarted(SeededId(random), at, 1, conversationId, "faults", $"user-{index}", index % 2 == 0 ? "web" : "ios",
                "en-US", new Personalization(index % 3 == 0)),
            new ResponseGenerated(SeededId(random), at.AddSeconds(1), 1, conversationId, "faults", first, 0, model, ["chat"],
                new Modality(["text"], ["text"]), 500 + random.Next(1000), 100, 200, new Moderation(false, [])),
            new ResponseGenerated(SeededId(random), at.AddSeconds(2), 1, conversationId, "faults", second, 1, model, capabilities,
                new Modality(["text"], ["text"]), 900 + random.Next(2000), 120, 400, new Moderation(false, []),
                random.Next(5) == 0 ? first : null),
        };
        var rating = random.Next(3) == 0 ? Rating.Down : Rating.Up;
        events.Add(new ResponseRated(SeededId(random), at.AddSeconds(3), 1, conversationId, "faults", second, rating,
            rating == Rating.Down ? [FeedbackReason.TooVerbose] : [], model, capabilities));
        if (random.Next(4) == 0)
        {
            // A later change of mind: a flip or a withdrawal.
            events.Add(new ResponseRated(SeededId(random), at.AddSeconds(4), 1, conversationId, "faults", second,
                random.Next(2) == 0 ? Rating.None : (rating == Rating.Up ? Rating.Down : Rating.Up), [], model, capabilities));
        }

        return events;
    }

    /// <summary>A version-4 UUID drawn from a seeded generator: the same seed gives the same ids, so a failure can be replayed.</summary>
    public static Guid SeededId(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4 (Guid's little-endian layout of the third group)
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes);
    }

    private static Guid EventIdOf(object contract) => (Guid)contract.GetType().GetProperty("EventId")!.GetValue(contract)!;
}
