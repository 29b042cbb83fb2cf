using System.Text.Json.Nodes;
using Analytics.Ingesting;

namespace Analytics.Tests;

/// <summary>
/// Every limit of docs/contracts.md (section 1 and the refusal table), one row just inside and one just outside.
/// The numbers are written out here from the documentation, not read from ContractLimits: a changed constant
/// fails these rows until the documentation (and this table) say the same.
/// </summary>
public class ValidatorLimitTests
{
    private const string Emoji = "\U0001F600"; // outside the Basic Multilingual Plane: 2 UTF-16 code units

    /// <summary>Row name → (event to start from, edit, expected refusal code or null when accepted).</summary>
    private static readonly Dictionary<string, (Func<object> Sample, Action<JsonObject> Edit, string? Code)> Rows = new()
    {
        // Short text: 1..128 UTF-16 code units, not blank.
        ["source 128 characters"] = (Generated, e => e["source"] = new string('s', 128), null),
        ["source 129 characters"] = (Generated, e => e["source"] = new string('s', 129), Refusal.Codes.TextTooLong),
        ["source 64 emoji (128 code units)"] = (Generated, e => e["source"] = string.Concat(Enumerable.Repeat(Emoji, 64)), null),
        ["source 64 emoji and a letter (129 code units)"] = (Generated, e => e["source"] = string.Concat(Enumerable.Repeat(Emoji, 64)) + "s", Refusal.Codes.TextTooLong),
        ["source 1 character"] = (Generated, e => e["source"] = "s", null),
        ["source empty"] = (Generated, e => e["source"] = "", Refusal.Codes.InvalidField),
        ["source a letter between blanks"] = (Generated, e => e["source"] = " s ", null),
        ["source spaces only"] = (Generated, e => e["source"] = "   ", Refusal.Codes.InvalidField),
        ["source with a tab (identifiers hold no control characters)"] = (Generated, e => e["source"] = "s\tt", Refusal.Codes.InvalidText),
        ["model.version 129 characters"] = (Rated, e => e["model"]!["version"] = new string('v', 129), Refusal.Codes.TextTooLong),
        // Long text: at most 2000 code units, may be empty.
        ["comment 2000 characters"] = (Rated, e => e["comment"] = new string('c', 2000), null),
        ["comment 2001 characters"] = (Rated, e => e["comment"] = new string('c', 2001), Refusal.Codes.TextTooLong),
        ["comment 1000 emoji (2000 code units)"] = (Rated, e => e["comment"] = string.Concat(Enumerable.Repeat(Emoji, 1000)), null),
        ["comment 1000 emoji and a letter (2001 code units)"] = (Rated, e => e["comment"] = string.Concat(Enumerable.Repeat(Emoji, 1000)) + "c", Refusal.Codes.TextTooLong),
        ["comment empty"] = (Rated, e => e["comment"] = "", null),
        ["promptExcerpt 2000 characters"] = (Generated, e => e["promptExcerpt"] = new string('p', 2000), null),
        ["promptExcerpt 2001 characters"] = (Generated, e => e["promptExcerpt"] = new string('p', 2001), Refusal.Codes.TextTooLong),
        ["responseExcerpt 2000 characters"] = (Generated, e => e["responseExcerpt"] = new string('r', 2000), null),
        ["responseExcerpt 2001 characters"] = (Generated, e => e["responseExcerpt"] = new string('r', 2001), Refusal.Codes.TextTooLong),
        // Slugs: ^[a-z][a-z0-9_]{0,39}$, at most 16 in a list.
        ["capability of 40 characters"] = (Generated, e => e["capabilities"] = new JsonArray("a" + new string('b', 39)), null),
        ["capability of 41 characters"] = (Generated, e => e["capabilities"] = new JsonArray("a" + new string('b', 40)), Refusal.Codes.InvalidField),
        ["capability starting with a digit"] = (Generated, e => e["capabilities"] = new JsonArray("1code"), Refusal.Codes.InvalidField),
        ["16 capabilities"] = (Generated, e => e["capabilities"] = Slugs(16), null),
        ["17 capabilities"] = (Generated, e => e["capabilities"] = Slugs(17), Refusal.Codes.TooManyItems),
        ["16 input modalities"] = (Generated, e => e["modality"]!["input"] = Slugs(16), null),
        ["17 input modalities"] = (Generated, e => e["modality"]!["input"] = Slugs(17), Refusal.Codes.TooManyItems),
        ["16 output modalities"] = (Generated, e => e["modality"]!["output"] = Slugs(16), null),
        ["17 output modalities"] = (Generated, e => e["modality"]!["output"] = Slugs(17), Refusal.Codes.TooManyItems),
        ["16 moderation categories"] = (Generated, e => e["moderation"]!["categories"] = Slugs(16), null),
        ["17 moderation categories"] = (Generated, e => e["moderation"]!["categories"] = Slugs(17), Refusal.Codes.TooManyItems),
        ["16 reasons"] = (Rated, e => e["reasons"] = Reasons(16), null),
        ["17 reasons"] = (Rated, e => e["reasons"] = Reasons(17), Refusal.Codes.TooManyItems),
        // Numeric ranges: 0..10,000 turns, 0..3,600,000 ms, 0..10,000,000 tokens.
        ["turnIndex 0"] = (Generated, e => e["turnIndex"] = 0, null),
        ["turnIndex -1"] = (Generated, e => e["turnIndex"] = -1, Refusal.Codes.InvalidField),
        ["turnIndex 10000"] = (Generated, e => e["turnIndex"] = 10_000, null),
        ["turnIndex 10001"] = (Generated, e => e["turnIndex"] = 10_001, Refusal.Codes.InvalidField),
        ["latencyMs 0"] = (Generated, e => e["latencyMs"] = 0, null),
        ["latencyMs -1"] = (Generated, e => e["latencyMs"] = -1, Refusal.Codes.InvalidField),
        ["latencyMs 3600000"] = (Generated, e => e["latencyMs"] = 3_600_000, null),
        ["latencyMs 3600001"] = (Generated, e => e["latencyMs"] = 3_600_001, Refusal.Codes.InvalidField),
        ["inputTokens 10000000"] = (Generated, e => e["inputTokens"] = 10_000_000, null),
        ["inputTokens 10000001"] = (Generated, e => e["inputTokens"] = 10_000_001, Refusal.Codes.InvalidField),
        ["inputTokens -1"] = (Generated, e => e["inputTokens"] = -1, Refusal.Codes.InvalidField),
        ["outputTokens 10000000"] = (Generated, e => e["outputTokens"] = 10_000_000, null),
        ["outputTokens 10000001"] = (Generated, e => e["outputTokens"] = 10_000_001, Refusal.Codes.InvalidField),
        ["latencyMs 1800.5 (a fraction)"] = (Generated, e => e["latencyMs"] = 1800.5, Refusal.Codes.InvalidField),
        // occurredAt: from 2000-01-01 to a day after the worker received it.
        ["occurredAt 2000-01-01T00:00:00Z"] = (Rated, e => e["occurredAt"] = "2000-01-01T00:00:00Z", null),
        ["occurredAt 1999-12-31T23:59:59.999Z"] = (Rated, e => e["occurredAt"] = "1999-12-31T23:59:59.999Z", Refusal.Codes.InvalidField),
        ["occurredAt exactly 5 minutes ahead (Ingestion:MaxFutureSkew)"] = (Rated, e => e["occurredAt"] = "2026-11-27T12:05:00Z", null),
        ["occurredAt 5 minutes and a millisecond ahead"] = (Rated, e => e["occurredAt"] = "2026-11-27T12:05:00.001Z", Refusal.Codes.InvalidField),
        ["occurredAt with a +02:00 offset"] = (Rated, e => e["occurredAt"] = "2026-11-27T14:00:00+02:00", null),
        // Ids: UUID strings in the 8-4-4-4-12 form, never the nil UUID.
        ["eventId nil"] = (Rated, e => e["eventId"] = Guid.Empty.ToString(), Refusal.Codes.InvalidId),
        ["eventId 32 digits"] = (Rated, e => e["eventId"] = Guid.NewGuid().ToString("N"), Refusal.Codes.InvalidId),
        ["eventId in braces"] = (Rated, e => e["eventId"] = Guid.NewGuid().ToString("B"), Refusal.Codes.InvalidId),
        ["eventId upper case"] = (Rated, e => e["eventId"] = Guid.NewGuid().ToString().ToUpperInvariant(), null),
        ["conversationId nil"] = (Rated, e => e["conversationId"] = Guid.Empty.ToString(), Refusal.Codes.InvalidId),
        ["turnId nil"] = (Rated, e => e["turnId"] = Guid.Empty.ToString(), Refusal.Codes.InvalidId),
        ["regeneratedFrom nil"] = (Generated, e => e["regeneratedFrom"] = Guid.Empty.ToString(), Refusal.Codes.InvalidId),
        ["comparisonId nil"] = (Compared, e => e["comparisonId"] = Guid.Empty.ToString(), Refusal.Codes.InvalidId),
        ["candidates[1].turnId nil"] = (Compared, e => e["candidates"]![1]!["turnId"] = Guid.Empty.ToString(), Refusal.Codes.InvalidId),
        // Candidates: exactly 2.
        ["1 candidate"] = (Compared, e => e["candidates"]!.AsArray().RemoveAt(1), Refusal.Codes.InvalidField),
        ["3 candidates"] = (Compared, e => e["candidates"]!.AsArray().Add(e["candidates"]![0]!.DeepClone()), Refusal.Codes.InvalidField),
        // schemaVersion: the number 1.
        ["schemaVersion \"1\""] = (Rated, e => e["schemaVersion"] = "1", Refusal.Codes.UnsupportedSchemaVersion),
        ["schemaVersion 1.5"] = (Rated, e => e["schemaVersion"] = 1.5, Refusal.Codes.UnsupportedSchemaVersion),
    };

    public static TheoryData<string> RowNames() => [.. Rows.Keys];

    [Theory]
    [MemberData(nameof(RowNames))]
    public void A_value_just_inside_a_limit_is_accepted_and_one_just_outside_is_refused_with_its_code(string row)
    {
        var (sample, edit, code) = Rows[row];
        var node = SampleEvents.AsNode(sample());
        edit(node);
        var result = FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now);
        Assert.True(code == result.Refusal?.Code, $"{row}: expected {code ?? "accepted"}, got {result.Refusal?.Code ?? "accepted"} ({result.Refusal?.Reason})");
        Assert.Equal(code is null, result.IsValid);
    }

    [Fact]
    public void Every_limit_has_a_row_inside_and_a_row_outside()
    {
        Assert.True(Rows.Values.Count(r => r.Code is null) >= 25, "rows just inside");
        Assert.True(Rows.Values.Count(r => r.Code is not null) >= 35, "rows just outside");
    }

    private static object Generated() => SampleEvents.Generated();

    private static object Rated() => SampleEvents.Rated();

    private static object Compared() => SampleEvents.Compared();

    private static JsonArray Slugs(int count) => [.. Enumerable.Range(0, count).Select(i => (JsonNode)$"slug_{i}")];

    private static JsonArray Reasons(int count) => [.. Enumerable.Range(0, count).Select(_ => (JsonNode)"inaccurate")];
}
