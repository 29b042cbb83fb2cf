using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Analytics.Contracts;

/// <summary>
/// The body of one message on the ingestion exchange: a single event object, or a JSON array of
/// complete events (each with its own <c>type</c> and <c>eventId</c>). Producers batch for throughput.
/// The events are kept as raw JSON so that one bad event can be refused without losing its neighbours.
/// </summary>
[JsonConverter(typeof(FeedbackEventBatchJsonConverter))]
public sealed class FeedbackEventBatch
{
    public FeedbackEventBatch(IReadOnlyList<JsonElement> events) => Events = events;

    public IReadOnlyList<JsonElement> Events { get; }

    /// <summary>
    /// Elements of an array body that are not JSON on their own (an invalid escape, a raw control character): the body
    /// as a whole could not be parsed, so it was split into its elements (<see cref="JsonArraySplitter"/>), and these
    /// are refused alone while the others are read.
    /// </summary>
    public IReadOnlyList<UnreadableEvent> Unreadable { get; init; } = [];

    /// <summary>Builds a batch from contract records, adding the <c>type</c> discriminator to each.</summary>
    public static FeedbackEventBatch From(IEnumerable<object> events) =>
        new(events.Select(FeedbackJson.ToElement).ToList());

    /// <summary>A message body already parsed: one event object, or an array of events (pointing into <paramref name="root"/>).</summary>
    public static FeedbackEventBatch FromJson(JsonElement root) =>
        new(root.ValueKind == JsonValueKind.Array ? [.. root.EnumerateArray()] : [root]);

    /// <summary>
    /// An array body that does not parse as a whole, read element by element: null when it is not an array whose
    /// elements can be told apart (then the message is not JSON at all).
    /// </summary>
    public static FeedbackEventBatch? FromBrokenArray(ReadOnlyMemory<byte> body)
    {
        if (JsonArraySplitter.Split(body.Span) is not { } ranges)
        {
            return null;
        }

        var events = new List<JsonElement>(ranges.Count);
        var unreadable = new List<UnreadableEvent>();
        for (var index = 0; index < ranges.Count; index++)
        {
            var raw = body[ranges[index]];
            try
            {
                events.Add(JsonSerializer.Deserialize<JsonElement>(raw.Span));
            }
            catch (JsonException ex)
            {
                // Where, not what: the parser's message can quote the text.
                unreadable.Add(new UnreadableEvent(index, raw, $"invalid JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1} of the event"));
            }
        }

        return new FeedbackEventBatch(events) { Unreadable = unreadable };
    }
}

/// <summary>One element of an array body that is not JSON: its bytes as published, its position, and where the parser stopped.</summary>
public sealed record UnreadableEvent(int Index, ReadOnlyMemory<byte> Raw, string Problem);

/// <summary>Reads either one event object or an array of events; writes an array.</summary>
public sealed class FeedbackEventBatchJsonConverter : JsonConverter<FeedbackEventBatch>
{
    public override FeedbackEventBatch Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        // One copy of the message's JSON that every event of it points into (no pooled buffers, nothing to
        // dispose), rather than a document per message plus a clone per event.
        return FeedbackEventBatch.FromJson(JsonElement.ParseValue(ref reader));
    }

    /// <summary>
    /// Each event's JSON as it was read, byte for byte: re-encoding a string that holds an unpaired surrogate escape
    /// would throw, and an unreadable element has no other form.
    /// </summary>
    public override void Write(Utf8JsonWriter writer, FeedbackEventBatch value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var e in value.Events)
        {
            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(e), skipInputValidation: true);
        }

        foreach (var e in value.Unreadable)
        {
            writer.WriteRawValue(e.Raw.Span, skipInputValidation: true);
        }

        writer.WriteEndArray();
    }
}
