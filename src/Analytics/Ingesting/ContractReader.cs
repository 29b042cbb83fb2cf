using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Contracts;

namespace Analytics.Ingesting;

/// <summary>
/// Reads a v1 contract record straight from an event's parsed JSON, with the rules of
/// <see cref="FeedbackJson.Options"/>: case-sensitive camelCase names, unknown properties ignored, required
/// constructor parameters and nullable annotations respected, strict numbers, enum values exactly as the
/// schemas spell them, UUIDs as strings, date-times with an offset.
/// <para>
/// The serializer did the same, but its per-call read stack and constructor-argument buffers made it, with the
/// garbage they left, about a quarter of the worker's CPU at 100 events per message (docs/performance.md).
/// ContractReaderTests hold this reader to the serializer's verdicts on every sample event and 5,600 broken
/// variants of them; a field added to a contract needs its line here and in the field names below.
/// </para>
/// </summary>
public static partial class ContractReader
{
    /// <summary>Reads <paramref name="type"/> (one of <see cref="FeedbackJson.EventTypes"/>), or throws <see cref="ContractReadException"/>.</summary>
    public static object Read(JsonElement e, Type type) => type.Name switch
    {
        nameof(ConversationStarted) => ReadConversationStarted(new JsonObjectReader(e, "$", ConversationStartedFields)),
        nameof(ResponseGenerated) => ReadResponseGenerated(new JsonObjectReader(e, "$", ResponseGeneratedFields)),
        nameof(ResponseRated) => ReadResponseRated(new JsonObjectReader(e, "$", ResponseRatedFields)),
        nameof(ResponsesCompared) => ReadResponsesCompared(new JsonObjectReader(e, "$", ResponsesComparedFields)),
        _ => throw new ArgumentException($"{type.Name} is not a v1 feedback event contract.", nameof(type)),
    };

    private static ConversationStarted ReadConversationStarted(JsonObjectReader o) => new(
        o.Guid("eventId"), o.DateTime("occurredAt"), o.Int("schemaVersion"), o.Guid("conversationId"), o.String("source"),
        o.String("userId"), o.String("surface"), o.String("locale"),
        o.Object("personalization", PersonalizationFields, p => new Personalization(p.Bool("customInstructions"), p.OptionalString("profile"))),
        o.OptionalObject("experiment", ExperimentFields, x => new ExperimentAssignment(x.String("id"), x.String("arm"))));

    private static ResponseGenerated ReadResponseGenerated(JsonObjectReader o) => new(
        o.Guid("eventId"), o.DateTime("occurredAt"), o.Int("schemaVersion"), o.Guid("conversationId"), o.String("source"),
        o.Guid("turnId"), o.Int("turnIndex"), o.Object("model", ModelFields, ModelRef), o.Strings("capabilities"),
        o.Object("modality", ModalityFields, m => new Modality(m.Strings("input"), m.Strings("output"))),
        o.Int("latencyMs"), o.Int("inputTokens"), o.Int("outputTokens"),
        o.Object("moderation", ModerationFields, m => new Moderation(m.Bool("flagged"), m.Strings("categories"))),
        o.OptionalGuid("regeneratedFrom"), o.OptionalString("promptExcerpt"), o.OptionalString("responseExcerpt"));

    private static ResponseRated ReadResponseRated(JsonObjectReader o) => new(
        o.Guid("eventId"), o.DateTime("occurredAt"), o.Int("schemaVersion"), o.Guid("conversationId"), o.String("source"),
        o.Guid("turnId"), o.Enum("rating", RatingValues), o.Reasons("reasons")!, o.Object("model", ModelFields, ModelRef),
        o.Strings("capabilities"), o.OptionalString("comment"));

    private static ResponsesCompared ReadResponsesCompared(JsonObjectReader o) => new(
        o.Guid("eventId"), o.DateTime("occurredAt"), o.Int("schemaVersion"), o.Guid("conversationId"), o.String("source"),
        o.Guid("comparisonId"),
        o.Objects("candidates", CandidateFields, c => new ComparisonCandidate(c.Guid("turnId"), c.Object("model", ModelFields, ModelRef))),
        o.Enum("preferred", PreferenceValues), o.Strings("capabilities"), o.Reasons("reasons", optional: true), o.OptionalString("comment"));

    private static readonly FieldNames ConversationStartedFields = new("eventId", "occurredAt", "schemaVersion", "conversationId", "source",
        "userId", "surface", "locale", "personalization", "experiment");

    private static readonly FieldNames ResponseGeneratedFields = new("eventId", "occurredAt", "schemaVersion", "conversationId", "source",
        "turnId", "turnIndex", "model", "capabilities", "modality", "latencyMs", "inputTokens", "outputTokens", "moderation",
        "regeneratedFrom", "promptExcerpt", "responseExcerpt");

    private static readonly FieldNames ResponseRatedFields = new("eventId", "occurredAt", "schemaVersion", "conversationId", "source",
        "turnId", "rating", "reasons", "model", "capabilities", "comment");

    private static readonly FieldNames ResponsesComparedFields = new("eventId", "occurredAt", "schemaVersion", "conversationId", "source",
        "comparisonId", "candidates", "preferred", "capabilities", "reasons", "comment");

    private static readonly FieldNames PersonalizationFields = new("customInstructions", "profile");
    private static readonly FieldNames ExperimentFields = new("id", "arm");
    private static readonly FieldNames ModelFields = new("id", "version", "variant");
    private static readonly FieldNames ModalityFields = new("input", "output");
    private static readonly FieldNames ModerationFields = new("flagged", "categories");
    private static readonly FieldNames CandidateFields = new("turnId", "model");

    private static ModelRef ModelRef(JsonObjectReader m) => new(m.String("id"), m.String("version"), m.OptionalString("variant"));

    private static readonly Dictionary<string, Rating> RatingValues = WireNames<Rating>();
    private static readonly Dictionary<string, Preference> PreferenceValues = WireNames<Preference>();
    private static readonly Dictionary<string, FeedbackReason> ReasonValues = WireNames<FeedbackReason>();

    /// <summary>An enum's values as they are spelled on the wire (<see cref="FeedbackJson.EnumNamingPolicy"/>), in declaration order.</summary>
    private static Dictionary<string, T> WireNames<T>()
        where T : struct, Enum =>
        Enum.GetValues<T>().ToDictionary(value => FeedbackJson.EnumNamingPolicy.ConvertName(value.ToString()), StringComparer.Ordinal);

    private static readonly string ReasonList = string.Join(", ", ReasonValues.Keys);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$")]
    private static partial Regex TimestampWithOffset();

    /// <summary>The properties a contract object has, as strings (for the readers) and as UTF-8 (to match the JSON).</summary>
    private sealed class FieldNames(params string[] names)
    {
        public string[] Names { get; } = names;

        public byte[][] Utf8 { get; } = [.. names.Select(Encoding.UTF8.GetBytes)];

        public int IndexOf(JsonProperty property)
        {
            var raw = JsonMarshal.GetRawUtf8PropertyName(property);
            var escaped = raw.Contains((byte)'\\');
            for (var i = 0; i < Utf8.Length; i++)
            {
                if (escaped ? property.NameEquals(Names[i]) : raw.SequenceEqual(Utf8[i]))
                {
                    return i;
                }
            }

            return -1;
        }
    }

    /// <summary>
    /// One JSON object of an event (the event itself or a nested one) and its path, for the refusal reasons. Its
    /// properties are matched to the contract's in one pass (a later duplicate wins); unknown ones are ignored.
    /// </summary>
    private readonly struct JsonObjectReader
    {
        private readonly string _path;
        private readonly FieldNames _fields;
        private readonly JsonElement[] _values;

        public JsonObjectReader(JsonElement element, string path, FieldNames fields)
        {
            _path = path;
            _fields = fields;
            _values = new JsonElement[fields.Names.Length];
            foreach (var property in element.EnumerateObject())
            {
                var index = fields.IndexOf(property);
                if (index >= 0)
                {
                    _values[index] = property.Value;
                }
            }
        }

        public Guid Guid(string name) =>
            ReadGuid(Present(name), name);

        public Guid? OptionalGuid(string name) =>
            Optional(name, out var value) ? ReadGuid(value, name) : null;

        public string String(string name) =>
            ReadString(Required(name), name);

        public string? OptionalString(string name) =>
            Optional(name, out var value) ? ReadString(value, name) : null;

        public int Int(string name)
        {
            var value = Present(name);
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)
                ? number
                : throw WrongType(Path(name), "must be a whole number");
        }

        public bool Bool(string name) => Present(name) switch
        {
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            _ => throw WrongType(Path(name), "must be true or false"),
        };

        public DateTimeOffset DateTime(string name)
        {
            var value = Present(name);
            return value.ValueKind == JsonValueKind.String && TimestampWithOffset().IsMatch(Text(value, Path(name)))
                && value.TryGetDateTimeOffset(out var at)
                ? at
                : throw new ContractReadException(Refusal.Codes.InvalidField,
                    $"{Path(name)} must be an ISO 8601 date-time with offset, e.g. 2026-11-27T12:00:00Z");
        }

        public T Enum<T>(string name, Dictionary<string, T> values)
            where T : struct
        {
            var value = Present(name);
            return value.ValueKind == JsonValueKind.String && values.TryGetValue(Text(value, Path(name)), out var known)
                ? known
                : throw new ContractReadException(Refusal.Codes.UnknownEnum, $"{Path(name)} must be one of {string.Join(", ", values.Keys)}");
        }

        public IReadOnlyList<FeedbackReason>? Reasons(string name, bool optional = false)
        {
            JsonElement array;
            if (optional)
            {
                if (!Optional(name, out array))
                {
                    return null;
                }
            }
            else
            {
                array = Required(name);
            }

            var items = array.ValueKind == JsonValueKind.Array
                ? array
                : throw new ContractReadException(Refusal.Codes.UnknownEnum, $"{Path(name)} must be an array of reasons: {ReasonList}");
            var reasons = new FeedbackReason[items.GetArrayLength()];
            var index = 0;
            foreach (var item in items.EnumerateArray())
            {
                reasons[index] = item.ValueKind == JsonValueKind.String && ReasonValues.TryGetValue(Text(item, $"{Path(name)}[{index}]"), out var reason)
                    ? reason
                    : throw new ContractReadException(Refusal.Codes.UnknownEnum,
                        $"{Path(name)}[{index}] is an unknown reason; expected one of {ReasonList}");
                index++;
            }

            return reasons;
        }

        /// <summary>A list of strings; a null item is kept, for the slug check to name it.</summary>
        public IReadOnlyList<string> Strings(string name)
        {
            var items = ArrayValue(Required(name), name);
            var strings = new string[items.GetArrayLength()];
            var index = 0;
            foreach (var item in items.EnumerateArray())
            {
                strings[index] = item.ValueKind switch
                {
                    JsonValueKind.String => Text(item, $"{Path(name)}[{index}]"),
                    JsonValueKind.Null => null!,
                    _ => throw WrongType($"{Path(name)}[{index}]", "must be a string"),
                };
                index++;
            }

            return strings;
        }

        public T Object<T>(string name, FieldNames objectFields, Func<JsonObjectReader, T> read)
        {
            var path = Path(name);
            return read(new JsonObjectReader(ObjectValue(Required(name), path), path, objectFields));
        }

        public T? OptionalObject<T>(string name, FieldNames objectFields, Func<JsonObjectReader, T> read)
            where T : class =>
            Optional(name, out var value) ? read(new JsonObjectReader(ObjectValue(value, Path(name)), Path(name), objectFields)) : null;

        public IReadOnlyList<T> Objects<T>(string name, FieldNames objectFields, Func<JsonObjectReader, T> read)
        {
            var items = ArrayValue(Required(name), name);
            var objects = new T[items.GetArrayLength()];
            var index = 0;
            foreach (var item in items.EnumerateArray())
            {
                var itemPath = $"{Path(name)}[{index}]";
                objects[index] = read(new JsonObjectReader(ObjectValue(item, itemPath), itemPath, objectFields));
                index++;
            }

            return objects;
        }

        /// <summary>A required field of a value type: null fails its type check, as with the serializer.</summary>
        private JsonElement Present(string name) =>
            _values[Array.IndexOf(_fields.Names, name)] is { ValueKind: not JsonValueKind.Undefined } value
                ? value
                : throw new ContractReadException(Refusal.Codes.MissingField, $"missing required field(s) '{name}' at {_path}");

        /// <summary>A required field of a reference type: null counts as missing.</summary>
        private JsonElement Required(string name)
        {
            var value = Present(name);
            return value.ValueKind == JsonValueKind.Null
                ? throw new ContractReadException(Refusal.Codes.MissingField, $"required field {Path(name)} is null")
                : value;
        }

        private bool Optional(string name, out JsonElement value)
        {
            value = _values[Array.IndexOf(_fields.Names, name)];
            return value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);
        }

        private string Path(string name) => $"{_path}.{name}";

        private Guid ReadGuid(JsonElement value, string name) =>
            value.ValueKind == JsonValueKind.String && value.TryGetGuid(out var id)
                ? id
                : throw new ContractReadException(Refusal.Codes.InvalidId, $"{Path(name)} must be a UUID string like 0d6f8a52-3b0e-4c8e-9a59-5f1f7d2c9b11");

        private string ReadString(JsonElement value, string name) =>
            value.ValueKind == JsonValueKind.String ? Text(value, Path(name)) : throw WrongType(Path(name), "must be a string");

        /// <summary>
        /// A JSON string as .NET text. Escapes of unpaired surrogates (<c>"\ud83d"</c>) and bytes that are not UTF-8
        /// cannot become a .NET string: the event is refused as <c>invalid_text</c>, naming the field.
        /// </summary>
        private static string Text(JsonElement value, string path)
        {
            try
            {
                return value.GetString()!;
            }
            catch (InvalidOperationException)
            {
                throw new ContractReadException(Refusal.Codes.InvalidText,
                    $"{path} is not valid text: it holds an unpaired surrogate escape or bytes that are not UTF-8");
            }
        }

        private JsonElement ArrayValue(JsonElement value, string name) =>
            value.ValueKind == JsonValueKind.Array ? value : throw WrongType(Path(name), "must be an array");

        private static JsonElement ObjectValue(JsonElement value, string path) =>
            value.ValueKind == JsonValueKind.Object ? value : throw WrongType(path, "must be an object");

        private static ContractReadException WrongType(string path, string expected) =>
            new(Refusal.Codes.InvalidField, $"{path} has the wrong type or format: it {expected}");
    }
}

/// <summary>An event's JSON does not fit its contract: the refusal code and a reason that names the field.</summary>
public sealed class ContractReadException(string code, string reason) : Exception(reason)
{
    public Refusal Refusal { get; } = new(code, reason);
}
