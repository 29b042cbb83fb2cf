using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Analytics.Contracts;

/// <summary>
/// The JSON form of the v1 contracts: camelCase properties, snake_case enum values, a <c>type</c>
/// discriminator on every event. Producers in other languages follow docs/contracts.md and the JSON
/// Schemas under schemas/; .NET producers use these options.
/// </summary>
public static class FeedbackJson
{
    public const string TypeProperty = "type";

    /// <summary>How enum values are spelled on the wire: snake_case, lowercase ("both_bad").</summary>
    public static JsonNamingPolicy EnumNamingPolicy => JsonNamingPolicy.SnakeCaseLower;

    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Event type names as they appear in the <c>type</c> property.</summary>
    public static IReadOnlyDictionary<string, Type> EventTypes { get; } = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        [nameof(ConversationStarted)] = typeof(ConversationStarted),
        [nameof(ResponseGenerated)] = typeof(ResponseGenerated),
        [nameof(ResponseRated)] = typeof(ResponseRated),
        [nameof(ResponsesCompared)] = typeof(ResponsesCompared),
    };

    public static JsonElement ToElement(object contractEvent)
    {
        var type = contractEvent.GetType();
        if (!EventTypes.ContainsKey(type.Name))
        {
            throw new ArgumentException($"{type.Name} is not a v1 feedback event contract.", nameof(contractEvent));
        }

        var node = (JsonObject)JsonSerializer.SerializeToNode(contractEvent, type, Options)!;
        var withType = new JsonObject { [TypeProperty] = type.Name };
        foreach (var (name, value) in node.ToList())
        {
            node.Remove(name);
            if (value is not null)
            {
                withType[name] = value;
            }
        }

        return JsonSerializer.SerializeToElement(withType, Options);
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            NumberHandling = JsonNumberHandling.Strict,
            PropertyNameCaseInsensitive = false,
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        options.Converters.Add(new JsonStringEnumConverter(EnumNamingPolicy, allowIntegerValues: false));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
