using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Analytics.Contracts;
using Analytics.Redacting;

namespace Analytics.Ingesting;

/// <summary>
/// What the refused queue keeps of a refused event unless <see cref="IngestionOptions.RefusedQueueKeepsOriginal"/> is
/// set: the event with every string value passed through <see cref="PiiRedactor"/> (whatever its field: a refused event
/// may carry its comment under a misspelt name) and every <c>userId</c> replaced by its keyed pseudonym, as a stored
/// event would be. Identifiers and timestamps (strings that read as a GUID or a date-time) are kept as sent, property
/// names and the JSON's shape too, so the copy still shows what was wrong and can be fixed and published again.
/// A string the parser cannot decode (an unpaired surrogate escape) is decoded with U+FFFD in its place first. An
/// element that is not JSON at all becomes a JSON string of its text (invalid UTF-8 as U+FFFD), redacted the same way.
/// </summary>
public static partial class RefusedCopy
{
    /// <summary>The property whose string value is pseudonymized instead of redacted, at any depth.</summary>
    private const string UserIdProperty = "userId";

    /// <summary>
    /// The batch as the refused queue keeps it by default: one array, the readable events first. Should redacting fail
    /// all the same, the copy is one string that says so: the refusal's headers still say what was refused and why, and
    /// nothing unredacted is kept.
    /// </summary>
    public static FeedbackEventBatch Redacted(FeedbackEventBatch batch, UserIdPseudonyms pseudonyms)
    {
        try
        {
            return RedactedCopy(batch, pseudonyms);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return FeedbackEventBatch.FromJson(JsonSerializer.SerializeToElement(new[] { $"[the refused event could not be redacted ({ex.GetType().Name}); it is not kept]" }));
        }
    }

    private static FeedbackEventBatch RedactedCopy(FeedbackEventBatch batch, UserIdPseudonyms pseudonyms)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var element in batch.Events)
            {
                Write(writer, element, pseudonyms, isUserId: false);
            }

            foreach (var unreadable in batch.Unreadable)
            {
                var text = Encoding.UTF8.GetString(unreadable.Raw.Span); // invalid UTF-8 becomes U+FFFD
                writer.WriteStringValue(PiiRedactor.Redact(text).Text);
            }

            writer.WriteEndArray();
        }

        return FeedbackEventBatch.FromJson(JsonSerializer.Deserialize<JsonElement>(buffer.WrittenSpan));
    }

    private static void Write(Utf8JsonWriter writer, JsonElement element, UserIdPseudonyms pseudonyms, bool isUserId)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    var name = Decode(property, out var isUserIdProperty);
                    writer.WritePropertyName(name);
                    Write(writer, property.Value, pseudonyms, isUserIdProperty);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item, pseudonyms, isUserId: false);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                var value = StringOf(element);
                writer.WriteStringValue(isUserId ? pseudonyms.Pseudonym(value)
                    : IsIdentifierOrTime(value) ? value
                    : PiiRedactor.Redact(value).Text);
                break;
            default:
                element.WriteTo(writer); // numbers, true, false, null: as sent
                break;
        }
    }

    private static string Decode(JsonProperty property, out bool isUserId)
    {
        string name;
        try
        {
            name = property.Name;
        }
        catch (InvalidOperationException)
        {
            name = Lenient(JsonMarshal.GetRawUtf8PropertyName(property));
        }

        isUserId = string.Equals(name, UserIdProperty, StringComparison.Ordinal);
        return isUserId ? name : PiiRedactor.Redact(name).Text!;
    }

    private static string StringOf(JsonElement element)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            var literal = JsonMarshal.GetRawUtf8Value(element);
            return Lenient(literal[1..^1]); // without its quotes
        }
    }

    /// <summary>
    /// The escaped UTF-8 text of a JSON string (without its quotes) decoded leniently: invalid UTF-8 and each unpaired
    /// surrogate escape read as U+FFFD.
    /// </summary>
    private static string Lenient(ReadOnlySpan<byte> escaped)
    {
        var text = UnpairedSurrogateEscape().Replace(Encoding.UTF8.GetString(escaped), @"\uFFFD");
        return JsonSerializer.Deserialize<string>("\"" + text + "\"") ?? string.Empty;
    }

    private static bool IsIdentifierOrTime(string value) =>
        value.Length <= 64 && (Guid.TryParse(value, out _) || DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.None, out _) && value.Contains('T', StringComparison.Ordinal));

    [GeneratedRegex(@"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")]
    private static partial Regex UnpairedSurrogateEscape();
}
