using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Analytics.Contracts;
using Analytics.Ingesting;

namespace Analytics.Tests;

/// <summary>
/// The worker reads contracts with <see cref="ContractReader"/> rather than the serializer; these tests hold it to
/// the serializer's verdicts (<see cref="FeedbackJson.Options"/>, plus the spelling checks the worker made before)
/// on every sample event and on every one-field break of them.
/// </summary>
public class ContractReaderTests
{
    private static readonly JsonNode?[] Replacements =
    [
        null, JsonValue.Create(42), JsonValue.Create(1.5), JsonValue.Create(-1), JsonValue.Create(2_147_483_648L), JsonValue.Create("text"),
        JsonValue.Create(true), JsonValue.Create("UP"), JsonValue.Create("down"), JsonValue.Create("both_bad"),
        JsonValue.Create("0d6f8a52-3b0e-4c8e-9a59-5f1f7d2c9b11"), JsonValue.Create("0d6f8a523b0e4c8e9a595f1f7d2c9b11"),
        JsonValue.Create("2026-11-27T11:00:00Z"), JsonValue.Create("2026-11-27T11:00:00"), JsonValue.Create("2026-13-45T11:00:00Z"),
        new JsonArray(), new JsonArray(JsonValue.Create("code_error")), new JsonArray(JsonValue.Create(7)), new JsonArray((JsonNode?)null),
        new JsonObject(), new JsonObject { ["id"] = "atlas", ["version"] = "1" },
    ];

    /// <summary>Optional fields the samples leave out, so their breaks are tried too.</summary>
    private static readonly string[] Additions = ["regeneratedFrom", "variant", "profile", "experiment", "comment", "reasons", "promptExcerpt"];

    [Fact]
    public void Every_sample_event_reads_as_the_serializer_reads_it()
    {
        foreach (var sample in Samples())
        {
            var element = FeedbackJson.ToElement(sample);
            var read = ContractReader.Read(element, sample.GetType());
            Assert.Equal(element.GetRawText(), FeedbackJson.ToElement(read).GetRawText());
        }
    }

    [Fact]
    public void Every_one_field_break_of_a_sample_gets_the_serializers_verdict()
    {
        var tried = 0;
        var disagreements = new List<string>();
        foreach (var sample in Samples())
        {
            var root = SampleEvents.AsNode(sample);
            foreach (var json in Breaks(root, root).ToList())
            {
                tried++;
                var disagreement = Disagreement(json);
                if (disagreement is not null)
                {
                    disagreements.Add($"{disagreement}: {json}");
                }
            }
        }

        Assert.True(tried > 1_000, $"only {tried} variants were tried");
        Assert.True(disagreements.Count == 0, $"{disagreements.Count} of {tried} disagree, e.g.\n{string.Join('\n', disagreements.Take(10))}");
    }

    private static string? Disagreement(string json)
    {
        var element = JsonDocument.Parse(json).RootElement;
        var type = FeedbackJson.EventTypes[element.GetProperty(FeedbackJson.TypeProperty).GetString()!];
        var expected = SerializerVerdict(element, type);

        object? read = null;
        Refusal? refusal = null;
        try
        {
            read = ContractReader.Read(element, type);
        }
        catch (ContractReadException ex)
        {
            refusal = ex.Refusal;
        }

        if (expected.Contract is not null)
        {
            return read is null
                ? $"refused ({refusal?.Code}: {refusal?.Reason}), the serializer read it"
                : FeedbackJson.ToElement(expected.Contract).GetRawText() == FeedbackJson.ToElement(read).GetRawText() ? null : "read differently";
        }

        return refusal is null ? $"read, the serializer refused it ({expected.Code})"
            : refusal.Code != expected.Code ? $"refused as {refusal.Code} ({refusal.Reason}), the serializer as {expected.Code}"
            : null;
    }

    [Fact]
    public void A_null_comparison_candidate_is_refused_where_the_serializer_let_it_through()
    {
        var node = SampleEvents.AsNode(SampleEvents.Compared());
        node["candidates"]!.AsArray()[1] = null;
        var element = SampleEvents.AsElement(node);

        var ex = Assert.Throws<ContractReadException>(() => ContractReader.Read(element, typeof(ResponsesCompared)));

        Assert.Equal(Refusal.Codes.InvalidField, ex.Refusal.Code);
        Assert.Contains("$.candidates[1]", ex.Refusal.Reason, StringComparison.Ordinal);
        Assert.Null(((ResponsesCompared)JsonSerializer.Deserialize(element, typeof(ResponsesCompared), FeedbackJson.Options)!).Candidates[1]);
    }

    [Fact]
    public void Escaped_property_names_match_as_the_serializer_matches_them()
    {
        var sample = SampleEvents.Rated();
        var json = FeedbackJson.ToElement(sample).GetRawText().Replace("\"turnId\"", "\"\\u0074urnId\"", StringComparison.Ordinal);
        Assert.Contains("\\u0074urnId", json, StringComparison.Ordinal);
        var read = (ResponseRated)ContractReader.Read(JsonDocument.Parse(json).RootElement, typeof(ResponseRated));
        Assert.Equal(sample.TurnId, read.TurnId);
    }

    [Fact]
    public void A_refusal_names_the_nested_field()
    {
        var node = SampleEvents.AsNode(SampleEvents.Generated());
        node["model"]!.AsObject().Remove("version");
        var ex = Assert.Throws<ContractReadException>(() => ContractReader.Read(SampleEvents.AsElement(node), typeof(ResponseGenerated)));
        Assert.Equal(Refusal.Codes.MissingField, ex.Refusal.Code);
        Assert.Equal("missing required field(s) 'version' at $.model", ex.Refusal.Reason);
    }

    private static IEnumerable<object> Samples() =>
    [
        .. SampleEvents.All(),
        SampleEvents.Generated() with { RegeneratedFrom = Guid.NewGuid(), Model = new ModelRef("atlas", "2026-11", "concise") },
        SampleEvents.Started() with { Experiment = null, Personalization = new Personalization(false) },
        SampleEvents.Rated(rating: Rating.Up) with { Comment = null },
    ];

    /// <summary>Every one-field break of <paramref name="node"/> (removed, replaced, or an optional one added), as the whole event's JSON.</summary>
    private static IEnumerable<string> Breaks(JsonObject root, JsonNode node)
    {
        if (node is JsonObject obj)
        {
            var names = obj.Select(p => p.Key).Where(n => n is not ("type" or "eventId" or "schemaVersion")).ToList();
            foreach (var name in names.Concat(Additions.Where(a => !obj.ContainsKey(a))))
            {
                var had = obj.TryGetPropertyValue(name, out var original);
                if (had)
                {
                    obj.Remove(name);
                    yield return root.ToJsonString();
                }

                foreach (var replacement in Replacements)
                {
                    obj[name] = replacement?.DeepClone();
                    yield return root.ToJsonString();
                }

                obj.Remove(name);
                if (had)
                {
                    obj[name] = original;
                    if (original is JsonObject or JsonArray)
                    {
                        foreach (var nested in Breaks(root, original))
                        {
                            yield return nested;
                        }
                    }
                }
            }
        }
        else if (node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                var original = array[i];
                foreach (var replacement in Replacements)
                {
                    array[i] = replacement?.DeepClone();
                    yield return root.ToJsonString();
                }

                array[i] = original;
                if (original is JsonObject)
                {
                    foreach (var nested in Breaks(root, original))
                    {
                        yield return nested;
                    }
                }
            }
        }
    }

    /// <summary>
    /// What the worker decided before <see cref="ContractReader"/>: exact enum spellings and timestamps with an
    /// offset, then the serializer with <see cref="FeedbackJson.Options"/>, its exceptions classified by field.
    /// </summary>
    private static (object? Contract, string? Code) SerializerVerdict(JsonElement raw, Type type)
    {
        string[] enums = ["rating", "preferred", "reasons"];
        string[] ids = ["eventId", "conversationId", "turnId", "comparisonId", "regeneratedFrom"];
        if ((raw.TryGetProperty("rating", out var rating) && rating.ValueKind == JsonValueKind.String && rating.GetString() is not ("up" or "down" or "none"))
            || (raw.TryGetProperty("preferred", out var preferred) && preferred.ValueKind == JsonValueKind.String
                && preferred.GetString() is not ("a" or "b" or "tie" or "both_bad"))
            || (raw.TryGetProperty("reasons", out var reasons) && reasons.ValueKind == JsonValueKind.Array
                && reasons.EnumerateArray().Any(r => r.ValueKind == JsonValueKind.String && !IsReason(r.GetString()!))))
        {
            return (null, Refusal.Codes.UnknownEnum);
        }

        if (raw.TryGetProperty("occurredAt", out var at) && at.ValueKind == JsonValueKind.String
            && !Regex.IsMatch(at.GetString()!, @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$"))
        {
            return (null, Refusal.Codes.InvalidField);
        }

        try
        {
            var contract = raw.Deserialize(type, FeedbackJson.Options)!;
            return contract is ResponsesCompared { Candidates: var candidates } && candidates.Any(c => c is null)
                ? (null, Refusal.Codes.InvalidField) // the one deliberate difference (see the test above)
                : (contract, null);
        }
        catch (JsonException ex)
        {
            if (ex.Message.Contains("missing required properties", StringComparison.Ordinal) || ex.Message.Contains("doesn't allow null", StringComparison.Ordinal))
            {
                return (null, Refusal.Codes.MissingField);
            }

            var last = ex.Path![(ex.Path!.LastIndexOf('.') + 1)..];
            last = last.Contains('[', StringComparison.Ordinal) ? last[..last.IndexOf('[', StringComparison.Ordinal)] : last;
            return (null, enums.Contains(last) ? Refusal.Codes.UnknownEnum : ids.Contains(last) ? Refusal.Codes.InvalidId : Refusal.Codes.InvalidField);
        }
    }

    private static bool IsReason(string value) =>
        value is "inaccurate" or "unsafe" or "refused_unnecessarily" or "ignored_instructions" or "bad_citation" or "code_error"
            or "too_verbose" or "unhelpful" or "other";
}
