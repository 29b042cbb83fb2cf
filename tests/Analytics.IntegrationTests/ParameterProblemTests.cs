using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Analytics.IntegrationTests;

/// <summary>
/// Every endpoint of the read API with one bad value per parameter that can be bad (query, route and JSON body): a 400
/// whose problem details name the parameter, the value received and the expected form. Free-text filters (version,
/// capability, surface, experimentArm) have no bad values but text no filter could hold (a NUL, a control character):
/// an unknown one matches nothing.
/// </summary>
public sealed class ParameterProblemTests(SeededReadApi seeded) : IClassFixture<SeededReadApi>
{
    private const string Iso = "ISO 8601 date-time";

    public static TheoryData<string, string, string?, string> BadQueries => new()
    {
        // path and query, parameter, value as received (null: none sent), words of the expected form
        { "/api/satisfaction/matrix?from=notadate", "from", "notadate", Iso },
        { "/api/satisfaction/matrix?to=2026-13-45", "to", "2026-13-45", Iso },
        { "/api/satisfaction/matrix?from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z", "from", "2026-11-21T00:00:00.0000000+00:00", "before to" },
        { "/api/satisfaction/matrix?from=2024-01-01T00:00:00Z&to=2026-11-20T00:00:00Z", "from", "2024-01-01T00:00:00.0000000+00:00", "at most 400 days" },
        { "/api/satisfaction/matrix?model=no-such-model", "model", "no-such-model", "GET /api/models" },
        { "/api/satisfaction/matrix?customInstructions=maybe", "customInstructions", "maybe", "true or false" },
        { "/api/satisfaction/over-time", "model", null, "GET /api/models" },
        { "/api/satisfaction/over-time?model=no-such-model", "model", "no-such-model", "GET /api/models" },
        { "/api/satisfaction/over-time?model=atlas&bucket=minute", "bucket", "minute", "hour or day" },
        { "/api/satisfaction/over-time?model=atlas&bucket=hour&from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z", "bucket", "hour", "day" },
        { "/api/satisfaction/over-time?model=atlas&from=yesterday", "from", "yesterday", Iso },
        { "/api/satisfaction/over-time?model=atlas&to=now", "to", "now", Iso },
        { "/api/satisfaction/over-time?model=atlas&customInstructions=2", "customInstructions", "2", "true or false" },
        { "/api/satisfaction/reasons", "model", null, "GET /api/models" },
        { "/api/satisfaction/reasons?model=no-such-model", "model", "no-such-model", "GET /api/models" },
        { "/api/satisfaction/reasons?model=atlas&from=20261120", "from", "20261120", Iso },
        { "/api/satisfaction/reasons?model=atlas&to=tomorrow", "to", "tomorrow", Iso },
        { "/api/comparisons/leaderboard?from=last-week", "from", "last-week", Iso },
        { "/api/comparisons/leaderboard?to=x", "to", "x", Iso },
        { "/api/comparisons/leaderboard?bootstrap=many", "bootstrap", "many", "whole number" },
        { "/api/comparisons/leaderboard?bootstrap=5", "bootstrap", "5", "from 20 to 2000" },
        { "/api/comparisons/leaderboard?anchor=atlas", "anchor", "atlas", "model@version" },
        { "/api/comparisons/leaderboard?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z&anchor=ghost@1", "anchor", "ghost@1", "atlas@2026-11, borealis@2026-11" },
        { "/api/comparisons/head-to-head?from=11/20/2026%2009:00%20PST", "from", "11/20/2026 09:00 PST", Iso },
        { "/api/comparisons/head-to-head?to=2026-11-20T25:00:00Z", "to", "2026-11-20T25:00:00Z", Iso },
        { "/api/exports/preference-pairs?from=monday", "from", "monday", Iso },
        { "/api/exports/preference-pairs?to=2026-11-19T00:00:00Z&from=2026-11-20T00:00:00Z", "from", "2026-11-20T00:00:00.0000000+00:00", "before to" },
        { "/api/conversations/not-a-uuid", "conversationId", "not-a-uuid", "UUID" },
        { "/api/conversations/not-a-uuid/events", "conversationId", "not-a-uuid", "UUID" },
        { "/api/alerts/not-a-uuid", "alertId", "not-a-uuid", "UUID" },
        { "/api/alerts?limit=lots", "limit", "lots", "whole number" },
        { "/api/triage/clusters/not-a-uuid", "clusterId", "not-a-uuid", "UUID" },
        { "/api/triage/clusters/not-a-uuid/history", "clusterId", "not-a-uuid", "UUID" },
        { "/api/triage/clusters?limit=-x", "limit", "-x", "whole number" },
        { "/api/triage/clusters?asOf=soon", "asOf", "soon", Iso },
        // Times outside [1970-01-01, 9999-01-01): a window widened, defaulted or compared with the one before would not fit.
        { "/api/satisfaction/matrix?to=0001-01-01T00:00:00Z", "to", "0001-01-01T00:00:00.0000000+00:00", "9999-01-01" },
        { "/api/satisfaction/matrix?from=9999-12-30T00:00:00Z&to=9999-12-31T23:59:59Z", "from", "9999-12-30T00:00:00.0000000+00:00", "1970-01-01" },
        { "/api/satisfaction/over-time?model=atlas&to=0001-01-01T00:00:00Z", "to", "0001-01-01T00:00:00.0000000+00:00", "9999-01-01" },
        { "/api/satisfaction/reasons?model=atlas&from=1969-12-31T23:59:59Z", "from", "1969-12-31T23:59:59.0000000+00:00", "1970-01-01" },
        { "/api/comparisons/leaderboard?to=0001-01-01T00:00:00Z", "to", "0001-01-01T00:00:00.0000000+00:00", "9999-01-01" },
        { "/api/comparisons/head-to-head?from=9999-12-31T22:00:00Z&to=9999-12-31T23:30:00Z", "from", "9999-12-31T22:00:00.0000000+00:00", "9999-01-01" },
        { "/api/conversations?to=0001-01-01T00:00:00Z", "to", "0001-01-01T00:00:00.0000000+00:00", "9999-01-01" },
        { "/api/exports/preference-pairs?to=0001-01-01T00:00:00Z", "to", "0001-01-01T00:00:00.0000000+00:00", "9999-01-01" },
        { "/api/triage/clusters?asOf=9999-12-31T00:00:00Z", "asOf", "9999-12-31T00:00:00.0000000+00:00", "9999-01-01" },
        { $"/api/triage/clusters/{Guid.Empty}?asOf=0001-01-01T00:00:00Z", "asOf", "0001-01-01T00:00:00.0000000+00:00", "1970-01-01" },
    };

    [Theory]
    [MemberData(nameof(BadQueries))]
    public async Task A_bad_query_or_route_value_gets_a_400_naming_the_parameter_the_value_and_the_expected_form(
        string path, string parameter, string? value, string expected)
    {
        var response = await (path.StartsWith("/api/exports", StringComparison.Ordinal) ? ApiClients.WithKey(seeded.Api, "local-dev-exporter-key") : ApiClients.Viewer(seeded.Api)).GetAsync(path);
        await AssertProblemAsync(response, parameter, value, expected);
    }

    [Fact]
    public async Task Every_query_parameter_of_the_api_refuses_a_NUL_or_a_control_character_with_a_400_naming_it()
    {
        // Every query parameter the OpenAPI document declares, on every operation, one at a time (a route id is any UUID).
        var document = await ApiClients.Viewer(seeded.Api).GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var checkedParameters = 0;
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name == "get"))
            {
                var names = operation.Value.TryGetProperty("parameters", out var parameters)
                    ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()!)
                    : [];
                foreach (var name in names)
                {
                    var route = Regex.Replace(path.Name, "{[^}]+}", Guid.NewGuid().ToString());
                    foreach (var (sent, received) in new[] { ("a%00b", "a\0b"), ("%01", "\u0001") })
                    {
                        var response = await ApiClients.Viewer(seeded.Api).GetAsync($"{route}?{name}={sent}");
                        await AssertProblemAsync(response, name, received, "text without U+0000");
                    }

                    checkedParameters++;
                }
            }
        }

        Assert.True(checkedParameters >= 60, $"{checkedParameters} query parameters in the OpenAPI document");
    }

    [Fact]
    public async Task A_note_with_a_NUL_is_a_400_that_says_where_without_quoting_the_note()
    {
        var triager = ApiClients.WithKey(seeded.Api, "local-dev-triager-key");
        var response = await triager.PostAsync($"/api/alerts/{Guid.NewGuid()}/acknowledge",
            new StringContent("""{"note":"private words\u0000"}""", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal("Note is not valid text", problem.GetProperty("title").GetString());
        Assert.Contains("U+0000 (NUL) at index 13", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("private words", text, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string, string?, string> BadBodies => new()
    {
        // path, body, parameter, value as received, words of the expected form
        { "/assign", """{"assignee":"sam","expectedVersion":"three"}""", "body.expectedVersion", "\"three\"", "a whole number" },
        { "/label", """{"severity":"S1","category":"quality","expectedVersion":1.5}""", "body.expectedVersion", "1.5", "whole number" },
        { "/notes", """{"note":["a"],"expectedVersion":1}""", "body.note", "[\"a\"]", "JSON string" },
        { "/resolve", """{"fixReference":"PR 1",""", "body", null, "JSON" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_bad_json_body_member_gets_a_400_naming_the_member_the_value_and_the_expected_form(
        string action, string body, string parameter, string? value, string expected)
    {
        var triager = ApiClients.WithKey(seeded.Api, "local-dev-triager-key");
        var response = await triager.PostAsync($"/api/triage/clusters/{Guid.NewGuid()}{action}", new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertProblemAsync(response, parameter, value ?? (parameter == "body" ? body : null), expected);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, string parameter, string? value, string expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(parameter, problem.GetProperty("parameter").GetString());
        Assert.Equal(value, problem.GetProperty("value").ValueKind == JsonValueKind.Null ? null : problem.GetProperty("value").GetString());
        Assert.Contains(expected, problem.GetProperty("expected").GetString(), StringComparison.Ordinal);
        Assert.Contains(parameter, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
    }
}
