using System.Text.Json;
using Analytics.Contracts;

namespace Analytics.Tests;

/// <summary>
/// Every enum of the contracts, every value: the wire values written out here from docs/contracts.md are exactly the
/// ones each JSON Schema allows (wherever the enum appears) and exactly what the platform writes and reads.
/// </summary>
public class ContractEnumTests
{
    /// <summary>Schema property holding the enum → its wire values (docs/contracts.md).</summary>
    private static readonly Dictionary<string, string[]> Documented = new()
    {
        ["rating"] = ["up", "down", "none"],
        ["preferred"] = ["a", "b", "tie", "both_bad"],
        ["reason"] = ["inaccurate", "unsafe", "refused_unnecessarily", "ignored_instructions", "bad_citation", "code_error", "too_verbose", "unhelpful", "other"],
    };

    private static readonly Dictionary<string, Type> Enums = new()
    {
        ["rating"] = typeof(Rating),
        ["preferred"] = typeof(Preference),
        ["reason"] = typeof(FeedbackReason),
    };

    [Fact]
    public void Every_enum_in_every_schema_allows_exactly_the_documented_values()
    {
        var seen = new HashSet<string>();
        foreach (var name in FeedbackJson.EventTypes.Keys)
        {
            using var stream = typeof(FeedbackJson).Assembly.GetManifestResourceStream($"schemas/{name}.schema.json")!;
            using var schema = JsonDocument.Parse(stream);
            foreach (var (property, values) in EnumsIn(schema.RootElement, property: null))
            {
                Assert.True(Documented.ContainsKey(property!), $"{name}: an enum at '{property}' that this test does not know");
                Assert.Equal(Documented[property!].Order(), values.Order());
                seen.Add(property!);
            }
        }

        Assert.Equal(Documented.Keys.Order(), seen.Order()); // each documented enum is in some schema
    }

    [Fact]
    public void Every_enum_value_is_written_and_read_as_its_documented_wire_value()
    {
        foreach (var (property, type) in Enums)
        {
            var values = Enum.GetValues(type).Cast<object>().ToList();
            var wire = values.Select(v => JsonSerializer.Serialize(v, type, FeedbackJson.Options).Trim('"')).ToList();
            Assert.Equal(Documented[property].Order(), wire.Order());
            foreach (var (value, text) in values.Zip(wire))
            {
                Assert.Equal(value, JsonSerializer.Deserialize($"\"{text}\"", type, FeedbackJson.Options));
            }
        }
    }

    /// <summary>Every "enum" array in a schema with the name of the property (or definition) it belongs to.</summary>
    private static IEnumerable<(string? Property, List<string> Values)> EnumsIn(JsonElement element, string? property)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var child in element.EnumerateObject())
            {
                if (child.Name == "enum")
                {
                    yield return (property, child.Value.EnumerateArray().Select(v => v.GetString()!).ToList());
                }
                else
                {
                    var name = child.Name is "properties" or "$defs" or "definitions" or "items" ? property : child.Name;
                    foreach (var found in EnumsIn(child.Value, name))
                    {
                        yield return found;
                    }
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                foreach (var found in EnumsIn(item, property))
                {
                    yield return found;
                }
            }
        }
    }
}
