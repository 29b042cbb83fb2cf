using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Analytics.Contracts;
using Analytics.Ingesting;

namespace Analytics.Tests;

/// <summary>Valid text, defined once (<see cref="TextRules"/>): the rules, the validator's use of them, the schemas' patterns.</summary>
public class TextRulesTests
{
    public static TheoryData<string, bool, bool> Texts() => new()
    {
        // text, valid free text, valid identifier
        { "plain words", true, true },
        { "tab\tnew line\ncarriage return\r", true, false },
        { "NUL\0", false, false },
        { "bell\a", false, false },
        { "delete\u007f", false, false },
        { "next line\u0085", false, false },
        { "\ud83d", false, false },
        { "cut in half \ud83d", false, false },
        { "\ude00 low first", false, false },
        { "\ude00\ud83d", false, false },
        { "😀 whole", true, true },
        { "👩‍👩‍👧 family (ZWJ)", true, false },
        { "zero\u200bwidth", true, false },
        { "\u202eright-to-left override", true, false },
        { "soft\u00adhyphen", true, false },
        { "\ufeffbyte order mark", true, false },
        { "tag \udb40\udc67 character (U+E0067)", true, false },
        { "🇫🇷 flag", true, true },
        { "e\u0301\u0301\u0301\u0301 combining marks", true, true },
        { "\U0010FFFD last plane", true, true },
        { "Ａｔｌａｓ fullwidth", true, true },
    };

    [Theory]
    [MemberData(nameof(Texts), DisableDiscoveryEnumeration = true)]
    public void Free_text_and_identifiers_follow_the_documented_rules(string text, bool freeText, bool identifier)
    {
        Assert.Equal(freeText, TextRules.CheckFreeText(text) is null);
        Assert.Equal(identifier, TextRules.CheckIdentifier(text) is null);
    }

    [Theory]
    [MemberData(nameof(Texts), DisableDiscoveryEnumeration = true)]
    public void The_schema_patterns_say_what_the_rules_say(string text, bool freeText, bool identifier)
    {
        // .NET's regular expressions see UTF-16 code units, as JsonSchema.Net and JavaScript without the u flag do.
        Assert.Equal(freeText, Regex.IsMatch(text, TextRules.FreeTextPattern));
        var supplementaryFormat = text.EnumerateRunes().Any(r => r.Value > 0xFFFF && TextRules.IsFormat(r));
        Assert.Equal(identifier || (supplementaryFormat && TextRules.CheckIdentifier(text)!.What.StartsWith("format", StringComparison.Ordinal)),
            Regex.IsMatch(text, TextRules.IdentifierPattern));
    }

    [Fact]
    public void Every_character_of_the_Basic_Multilingual_Plane_gets_the_same_verdict_from_the_patterns_and_the_rules()
    {
        var free = new Regex(TextRules.FreeTextPattern);
        var identifier = new Regex(TextRules.IdentifierPattern);
        for (var c = 0; c <= 0xFFFF; c++)
        {
            var text = ((char)c).ToString();
            Assert.True(free.IsMatch(text) == TextRules.CheckFreeText(text) is null, $"U+{c:X4} free text");
            Assert.True(identifier.IsMatch(text) == TextRules.CheckIdentifier(text) is null, $"U+{c:X4} identifier");
        }
    }

    [Fact]
    public void Every_schema_carries_the_patterns_on_its_short_texts_and_free_texts()
    {
        foreach (var name in FeedbackJson.EventTypes.Keys)
        {
            var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(ContractSchemaTests.RepositoryRoot(), "src", "Analytics.Contracts", "schemas",
                $"{name}.schema.json")))!;
            Assert.Equal(TextRules.IdentifierPattern, schema["$defs"]!["shortText"]!["pattern"]!.GetValue<string>());
            foreach (var field in new[] { "comment", "promptExcerpt", "responseExcerpt" })
            {
                if (schema["properties"]![field] is { } property)
                {
                    Assert.Equal(TextRules.FreeTextPattern, property["pattern"]!.GetValue<string>());
                }
            }
        }
    }

    public static TheoryData<string, string, string> HostileFields() => new()
    {
        // field path, raw JSON value, code
        { "comment", "\"a\\u0000b\"", Refusal.Codes.InvalidText },
        { "comment", "\"cut \\ud83d\"", Refusal.Codes.InvalidText },
        { "comment", "\"\\udc00\"", Refusal.Codes.InvalidText },
        { "comment", "\"\\u001b[31m\"", Refusal.Codes.InvalidText },
        { "model.id", "\"atlas\\u200d\"", Refusal.Codes.InvalidText },
        { "model.variant", "\"\\u2066concise\"", Refusal.Codes.InvalidText },
        { "source", "\"chat\\nweb\"", Refusal.Codes.InvalidText },
        { "model.version", "\"\\ud800\"", Refusal.Codes.InvalidText },
        { "capabilities", "[\"\\ud800\"]", Refusal.Codes.InvalidText },
        { "rating", "\"\\ud800\"", Refusal.Codes.InvalidText },
        { "reasons", "[\"\\udfff\"]", Refusal.Codes.InvalidText },
        { "occurredAt", "\"\\ud800\"", Refusal.Codes.InvalidText },
        { "type", "\"\\ud800\"", Refusal.Codes.UnknownType },
        { "eventId", "\"\\ud800\"", Refusal.Codes.InvalidId },
    };

    [Theory]
    [MemberData(nameof(HostileFields))]
    public void A_field_that_is_not_valid_text_refuses_the_event_with_a_reason_that_names_the_field_and_never_throws(string field, string rawValue, string code)
    {
        var result = FeedbackEventValidator.Validate(RatingWith(field, rawValue), SampleEvents.Now);

        Assert.False(result.IsValid);
        Assert.Equal(code, result.Refusal!.Code);
        if (code == Refusal.Codes.InvalidText)
        {
            Assert.Contains($"$.{field}", result.Refusal.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Format_characters_emoji_sequences_and_right_to_left_text_are_fine_in_free_text()
    {
        var rating = SampleEvents.Rated() with { Comment = "👩‍👩‍👧 \u200fשלום\u200e 🇫🇷 e\u0301\u0301 \U0001F3F4\U000E0067\U000E0062\U000E007F" };
        var result = FeedbackEventValidator.Validate(FeedbackJson.ToElement(rating), SampleEvents.Now);
        Assert.True(result.IsValid, result.Refusal?.Reason);
        Assert.Equal(rating.Comment, ((ResponseRated)result.Contract!).Comment);
    }

    [Fact]
    public void An_array_body_is_split_into_its_elements_whatever_their_strings_hold()
    {
        var body = "[ {\"a\":\"x,]}\\\"\"}, {\"b\":\"raw \u0001 and \\uZZZZ\"} ,\n[1,{\"c\":2}], \"s\" ]"u8.ToArray();
        var ranges = JsonArraySplitter.Split(body)!;
        Assert.Equal(["{\"a\":\"x,]}\\\"\"}", "{\"b\":\"raw \u0001 and \\uZZZZ\"}", "[1,{\"c\":2}]", "\"s\""],
            ranges.Select(r => Encoding.UTF8.GetString(body[r])));

        Assert.Empty(JsonArraySplitter.Split("[]"u8)!);
        Assert.Null(JsonArraySplitter.Split("{\"a\":1}"u8));
        Assert.Null(JsonArraySplitter.Split("[{\"a\":1}"u8));
        Assert.Null(JsonArraySplitter.Split("[1,,2]"u8));
        Assert.Null(JsonArraySplitter.Split("[1,]"u8));
        Assert.Null(JsonArraySplitter.Split("[1] x"u8));
        Assert.Null(JsonArraySplitter.Split("[\"open string]"u8));
    }

    [Fact]
    public void A_broken_array_keeps_its_readable_events_and_names_the_unreadable_ones()
    {
        var good = FeedbackJson.ToElement(SampleEvents.Rated()).GetRawText();
        var bad = "{\"comment\":\"\\uZZZZ\"}";
        var batch = FeedbackEventBatch.FromBrokenArray(Encoding.UTF8.GetBytes($"[{good},{bad},{good}]"))!;

        Assert.Equal(2, batch.Events.Count);
        var unreadable = Assert.Single(batch.Unreadable);
        Assert.Equal(1, unreadable.Index);
        Assert.Equal(bad, Encoding.UTF8.GetString(unreadable.Raw.Span));
        // Written back byte for byte, so the refused queue keeps what was published.
        Assert.Equal($"[{good},{good},{bad}]", JsonSerializer.Serialize(batch));
    }

    [Fact]
    public void An_event_with_an_unpaired_surrogate_is_written_back_as_it_was_read()
    {
        var raw = "{\"comment\":\"cut \\ud83d\"}";
        var batch = FeedbackEventBatch.FromJson(JsonSerializer.Deserialize<JsonElement>(raw));
        Assert.Equal($"[{raw}]", JsonSerializer.Serialize(batch));
    }

    [Fact]
    public void The_payload_hash_ignores_formatting_unknown_properties_and_the_offset_but_not_the_content()
    {
        var rating = SampleEvents.Rated();
        var node = SampleEvents.AsNode(rating);
        node["occurredAt"] = rating.OccurredAt.ToOffset(TimeSpan.FromHours(-5)).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffzzz");
        node["somethingNew"] = true;
        var reread = (ResponseRated)FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now).Contract!;

        Assert.Equal(PayloadHash.Of(rating), PayloadHash.Of(reread));
        Assert.Matches("^[0-9a-f]{64}$", PayloadHash.Of(rating));
        Assert.NotEqual(PayloadHash.Of(rating), PayloadHash.Of(rating with { Comment = rating.Comment + "!" }));
        Assert.NotEqual(PayloadHash.Of(rating), PayloadHash.Of(rating with { Rating = Rating.Up }));
    }

    private static JsonElement RatingWith(string field, string rawValue)
    {
        var node = SampleEvents.AsNode(SampleEvents.Rated() with { Model = new ModelRef("atlas", "2026-11", "concise") });
        var path = field.Split('.');
        var parent = path[..^1].Aggregate((JsonNode)node, (n, name) => n[name]!);
        parent[path[^1]] = "@@raw@@";
        return JsonSerializer.Deserialize<JsonElement>(node.ToJsonString().Replace("\"@@raw@@\"", rawValue, StringComparison.Ordinal));
    }
}
