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

    /// <summary>Builds a batch from contract records, adding the <c>type</c> discriminator to each.</summary>
    public static FeedbackEventBatch From(IEnumerable<object> events) =>
        new(events.Select(FeedbackJson.ToElement).ToList());

    /// <summary>A message body already parsed: one event object, or an array of events (pointing into <paramref name="root"/>).</summary>
    public static FeedbackEventBatch FromJson(JsonElement root) =>
        new(root.ValueKind == JsonValueKind.Array ? [.. root.EnumerateArray()] : [root]);
}

/// <summary>Reads either one event object or an array of events; writes an array.</summary>
public sealed class FeedbackEventBatchJsonConverter : JsonConverter<FeedbackEventBatch>
{
    public override FeedbackEventBatch Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        // One copy of the message's JSON that every event of it points into (no pooled buffers, nothing to
        // dispose), rather than a document per message plus a clone per event.
        return FeedbackEventBatch.FromJson(JsonElement.ParseValue(ref reader));
    }

    public override void Write(Utf8JsonWriter writer, FeedbackEventBatch value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var e in value.Events)
        {
            e.WriteTo(writer);
        }

        writer.WriteEndArray();
    }
}
