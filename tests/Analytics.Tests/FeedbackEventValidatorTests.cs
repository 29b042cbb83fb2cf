using System.Text.Json;
using System.Text.Json.Nodes;
using Analytics.Contracts;
using Analytics.Ingesting;

namespace Analytics.Tests;

public class FeedbackEventValidatorTests
{
    [Fact]
    public void Every_sample_event_is_accepted_as_its_contract_type()
    {
        foreach (var sample in SampleEvents.All())
        {
            var result = FeedbackEventValidator.Validate(FeedbackJson.ToElement(sample), SampleEvents.Now);
            Assert.True(result.IsValid, result.Refusal?.Reason);
            Assert.Equal(FeedbackJson.ToElement(sample).GetRawText(), FeedbackJson.ToElement(result.Contract!).GetRawText());
        }
    }

    [Fact]
    public void Unknown_properties_are_ignored()
    {
        var node = SampleEvents.AsNode(SampleEvents.Rated());
        node["somethingNew"] = "from v1.1";
        Assert.True(FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now).IsValid);
    }

    public static TheoryData<string, string, string> BrokenRatings() => new()
    {
        { "remove:model", Refusal.Codes.MissingField, "model" },
        { "null:model", Refusal.Codes.MissingField, "model" },
        { "remove:turnId", Refusal.Codes.MissingField, "turnId" },
        { "remove:eventId", Refusal.Codes.MissingField, "eventId" },
        { "remove:type", Refusal.Codes.MissingField, "type" },
        { "remove:schemaVersion", Refusal.Codes.MissingField, "schemaVersion" },
        { "set:rating=\"meh\"", Refusal.Codes.UnknownEnum, "rating" },
        { "set:reasons=[\"bad_vibes\"]", Refusal.Codes.UnknownEnum, "reason" },
        { "set:schemaVersion=2", Refusal.Codes.UnsupportedSchemaVersion, "schemaVersion 2" },
        { "set:eventId=\"42\"", Refusal.Codes.InvalidId, "eventId" },
        { "set:eventId=\"00000000-0000-0000-0000-000000000000\"", Refusal.Codes.InvalidId, "eventId" },
        { "set:conversationId=\"not-a-uuid\"", Refusal.Codes.InvalidId, "conversationId" },
        { "set:type=\"ResponseLiked\"", Refusal.Codes.UnknownType, "ResponseLiked" },
        { "set:comment=LONG", Refusal.Codes.TextTooLong, "comment" },
        { "set:capabilities=[\"Code Execution\"]", Refusal.Codes.InvalidField, "capabilities" },
        { "set:source=\"\"", Refusal.Codes.InvalidField, "source" },
        { "set:occurredAt=\"2031-01-01T00:00:00Z\"", Refusal.Codes.InvalidField, "future" },
        { "set:occurredAt=\"yesterday\"", Refusal.Codes.InvalidField, "occurredAt" },
        { "set:occurredAt=\"2026-11-27T12:00:00\"", Refusal.Codes.InvalidField, "offset" },
        { "set:rating=\"UP\"", Refusal.Codes.UnknownEnum, "rating" },
        { "set:reasons=[\"CodeError\"]", Refusal.Codes.UnknownEnum, "reasons[0]" },
    };

    [Theory]
    [MemberData(nameof(BrokenRatings))]
    public void A_broken_rating_is_refused_with_a_code_and_a_reason_that_names_the_problem(string edit, string code, string reasonMentions)
    {
        var node = SampleEvents.AsNode(SampleEvents.Rated());
        var (operation, rest) = (edit[..edit.IndexOf(':')], edit[(edit.IndexOf(':') + 1)..]);
        if (operation == "remove")
        {
            node.Remove(rest);
        }
        else if (operation == "null")
        {
            node[rest] = null;
        }
        else
        {
            var (field, value) = (rest[..rest.IndexOf('=')], rest[(rest.IndexOf('=') + 1)..]);
            node[field] = value == "LONG" ? new string('x', ContractLimits.MaxComment + 1) : JsonNode.Parse(value);
        }

        var result = FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now);

        Assert.False(result.IsValid);
        Assert.Equal(code, result.Refusal!.Code);
        Assert.Contains(reasonMentions, result.Refusal.Reason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_refusal_keeps_the_event_id_when_it_could_be_read()
    {
        var rated = SampleEvents.Rated();
        var node = SampleEvents.AsNode(rated);
        node["rating"] = "sideways";
        var result = FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now);
        Assert.Equal(rated.EventId, result.EventId);
        Assert.Equal("ResponseRated", result.Type);
    }

    [Fact]
    public void Property_names_are_case_sensitive_so_a_differently_cased_required_field_is_missing()
    {
        var node = SampleEvents.AsNode(SampleEvents.Rated());
        var conversationId = node["conversationId"]!.DeepClone();
        node.Remove("conversationId");
        node["ConversationId"] = conversationId;
        var result = FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now);
        Assert.Equal(Refusal.Codes.MissingField, result.Refusal?.Code);
        Assert.Contains("conversationId", result.Refusal!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_comparison_needs_exactly_two_candidates()
    {
        var node = SampleEvents.AsNode(SampleEvents.Compared());
        node["candidates"]!.AsArray().RemoveAt(1);
        var result = FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now);
        Assert.Equal(Refusal.Codes.InvalidField, result.Refusal?.Code);
        Assert.Contains("exactly 2", result.Refusal!.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("\"text\"")]
    [InlineData("[1,2]")]
    [InlineData("null")]
    public void Something_that_is_not_an_object_is_refused(string json)
    {
        var result = FeedbackEventValidator.Validate(JsonDocument.Parse(json).RootElement, SampleEvents.Now);
        Assert.Equal(Refusal.Codes.NotAnObject, result.Refusal?.Code);
    }

    [Fact]
    public void Too_many_capabilities_are_refused()
    {
        var node = SampleEvents.AsNode(SampleEvents.Generated());
        node["capabilities"] = new JsonArray(Enumerable.Range(0, ContractLimits.MaxListItems + 1).Select(i => (JsonNode)JsonValue.Create($"cap{i}")).ToArray());
        Assert.Equal(Refusal.Codes.TooManyItems, FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now).Refusal?.Code);
    }
}
