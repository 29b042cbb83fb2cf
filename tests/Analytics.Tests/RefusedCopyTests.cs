using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Analytics.Contracts;
using Analytics.Ingesting;
using Analytics.Redacting;

namespace Analytics.Tests;

/// <summary>What the refused queue keeps by default: the refused event with personal data replaced (docs/security.md).</summary>
public class RefusedCopyTests
{
    private static readonly UserIdPseudonyms Pseudonyms = new("a-key-for-refused-copies-of-32-characters");

    private static JsonArray Copy(string json) =>
        JsonNode.Parse(JsonSerializer.Serialize(RefusedCopy.Redacted(FeedbackEventBatch.FromJson(JsonDocument.Parse(json).RootElement), Pseudonyms)))!.AsArray();

    [Fact]
    public void Free_text_is_redacted_in_any_field_ids_times_numbers_and_the_shape_are_kept()
    {
        const string eventId = "6f1c1f0e-2b7a-4d3e-9a51-0c2d4e6f8a10";
        var copy = Copy($$"""
            [{"type":"ResponseRated","eventId":"{{eventId}}","occurredAt":"2026-12-06T10:00:00Z","schemaVersion":1,
              "rating":"dwon","comment":"mail me at jane.doe@example.com","coment":"or call +44 20 7946 0958",
              "reasons":["write to bob@example.org"],"nested":{"deep":["sk-proj-abcdefghijklmnop1234"]},"flag":true,"none":null}]
            """);

        var e = copy.Single()!.AsObject();
        Assert.Equal(eventId, e["eventId"]!.GetValue<string>());
        Assert.Equal("2026-12-06T10:00:00Z", e["occurredAt"]!.GetValue<string>());
        Assert.Equal(1, e["schemaVersion"]!.GetValue<int>());
        Assert.Equal("dwon", e["rating"]!.GetValue<string>()); // the mistake that got it refused is still there to see
        Assert.Equal("mail me at [EMAIL]", e["comment"]!.GetValue<string>());
        Assert.Equal("or call [PHONE]", e["coment"]!.GetValue<string>());
        Assert.Equal("write to [EMAIL]", e["reasons"]![0]!.GetValue<string>());
        Assert.Equal("[SECRET]", e["nested"]!["deep"]![0]!.GetValue<string>());
        Assert.True(e["flag"]!.GetValue<bool>());
        Assert.Null(e["none"]);
        Assert.True(e.ContainsKey("none"));
        Assert.DoesNotContain("example.com", copy.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_user_id_is_pseudonymized_at_any_depth_and_publishing_the_copy_again_keeps_the_pseudonym()
    {
        var copy = Copy("""[{"type":"ConversationStarted","userId":"jane@example.com","personalization":{"userId":12}},{"type":"x","inner":{"userId":"john"}}]""");
        Assert.Equal(Pseudonyms.Pseudonym("jane@example.com"), copy[0]!["userId"]!.GetValue<string>());
        Assert.Equal(12, copy[0]!["personalization"]!["userId"]!.GetValue<int>()); // not a string: nothing to pseudonymize
        Assert.Equal(Pseudonyms.Pseudonym("john"), copy[1]!["inner"]!["userId"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(copy, Copy(copy.ToJsonString())), "a copy of the copy differs");
    }

    [Fact]
    public void A_string_with_an_unpaired_surrogate_is_kept_readable_with_a_replacement_character_and_still_redacted()
    {
        var copy = Copy("""[{"type":"ResponseRated","comment":"half an emoji \ud83d then jane@example.com","tail":"\ude00 low","pair":"\ud83d\ude00 ok"}]""");
        Assert.Equal("half an emoji \uFFFD then [EMAIL]", copy[0]!["comment"]!.GetValue<string>());
        Assert.Equal("\uFFFD low", copy[0]!["tail"]!.GetValue<string>());
        Assert.Equal("\U0001F600 ok", copy[0]!["pair"]!.GetValue<string>());
    }

    [Fact]
    public void An_element_that_is_not_json_becomes_a_redacted_string_of_its_text()
    {
        var raw = Encoding.UTF8.GetBytes("{\"comment\": \"call me on 0151 496 0123\", \"broken\": ").Concat(new byte[] { 0xFF, 0xFE }).ToArray();
        var batch = new FeedbackEventBatch([]) { Unreadable = [new UnreadableEvent(0, raw, "invalid JSON")] };
        var copy = JsonNode.Parse(JsonSerializer.Serialize(RefusedCopy.Redacted(batch, Pseudonyms)))!.AsArray();
        var text = copy.Single()!.GetValue<string>();
        Assert.StartsWith("{\"comment\": \"call me on [PHONE]\", \"broken\": ", text, StringComparison.Ordinal);
        Assert.EndsWith("\uFFFD\uFFFD", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_string_of_invalid_utf8_is_kept_readable_with_replacement_characters_and_still_redacted()
    {
        var json = Encoding.UTF8.GetBytes("[{\"comment\":\"bad ").Concat(new byte[] { 0xC0, 0xED, 0xA0, 0x80 })
            .Concat(Encoding.UTF8.GetBytes(" byte, jane@example.com\",\"na\\u0000me\":\"x\"}]")).ToArray();
        var batch = FeedbackEventBatch.FromJson(JsonSerializer.Deserialize<JsonElement>(json));
        var copy = JsonNode.Parse(JsonSerializer.Serialize(RefusedCopy.Redacted(batch, Pseudonyms)))!.AsArray();
        var comment = copy[0]!["comment"]!.GetValue<string>();
        Assert.StartsWith("bad \uFFFD", comment, StringComparison.Ordinal);
        Assert.EndsWith(" byte, [EMAIL]", comment, StringComparison.Ordinal);
        Assert.Equal("x", copy[0]!["na\u0000me"]!.GetValue<string>());
    }
}
