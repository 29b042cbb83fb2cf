using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>One platform and API for every row: the rows only read.</summary>
public sealed class ReadOnlyApiFixture : IAsyncLifetime
{
    public TestPlatform Platform { get; private set; } = null!;

    public WebApplicationFactory<Program> Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Platform = await TestPlatform.CreateAsync();
        Api = ApiClients.For(Platform);
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Platform.DisposeAsync();
    }
}

/// <summary>
/// Bad query parameters of every read endpoint get a 400 with problem details and the documented title; values just
/// inside the same limits are served. The rows share one platform (they only read), instead of one database each.
/// </summary>
public sealed class ApiBadRequestTests(ReadOnlyApiFixture fixture) : IClassFixture<ReadOnlyApiFixture>
{
    [Theory]
    [InlineData("/api/satisfaction/matrix?from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z", "from must be before to")]
    [InlineData("/api/satisfaction/matrix?model=no-such-model", "Unknown model")]
    [InlineData("/api/satisfaction/matrix?from=2025-01-01T00:00:00Z&to=2026-02-05T00:00:01Z", "Range too long")] // 400 days and a second
    [InlineData("/api/satisfaction/over-time?model=atlas&from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z&bucket=hour", "Bucket too fine for the range")]
    [InlineData("/api/satisfaction/over-time?model=atlas&bucket=minute", "Unknown bucket")]
    [InlineData("/api/satisfaction/over-time", "model is required")]
    [InlineData("/api/satisfaction/reasons", "model is required")]
    [InlineData("/api/satisfaction/matrix?from=yesterday", null)]
    [InlineData("/api/comparisons/leaderboard?bootstrap=19", "bootstrap out of range")]
    [InlineData("/api/comparisons/leaderboard?bootstrap=2001", "bootstrap out of range")]
    [InlineData("/api/comparisons/leaderboard?from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z", "from must be before to")]
    [InlineData("/api/comparisons/head-to-head?from=2026-11-10T00:00:00Z&to=2026-11-10T00:00:00Z", "from must be before to")]
    [InlineData("/api/comparisons/leaderboard?bootstrap=many", null)]
    [InlineData("/api/exports/preference-pairs?from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z", "from must be before to")]
    [InlineData("/api/exports/preference-pairs?to=tomorrow", null)]
    [InlineData("/api/alerts?limit=0", "Bad limit")]
    [InlineData("/api/alerts?limit=1001", "Bad limit")]
    [InlineData("/api/alerts?state=sometimes", "Unknown state")]
    public async Task Bad_parameters_get_a_400_with_problem_details(string url, string? title)
    {
        var response = await (url.StartsWith("/api/exports", StringComparison.Ordinal) ? ApiClients.WithKey(fixture.Api, "local-dev-exporter-key") : ApiClients.Viewer(fixture.Api)).GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        if (title is not null)
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(title, problem.GetProperty("title").GetString());
        }
    }

    [Theory]
    [InlineData("/api/satisfaction/matrix?from=2025-01-01T00:00:00Z&to=2026-02-05T00:00:00Z")] // exactly 400 days
    [InlineData("/api/comparisons/leaderboard?bootstrap=20")]
    [InlineData("/api/comparisons/leaderboard?bootstrap=2000")]
    [InlineData("/api/alerts?limit=1")]
    [InlineData("/api/alerts?limit=1000")]
    [InlineData("/api/models")]
    public async Task Values_just_inside_the_limits_are_served(string url)
    {
        var response = await ApiClients.Viewer(fixture.Api).GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task An_acknowledgement_note_over_2000_characters_is_a_400_and_an_unknown_alert_a_404()
    {
        using var triager = ApiClients.WithKey(fixture.Api, "local-dev-triager-key");
        var unknown = Guid.NewGuid();
        var tooLong = await triager.PostAsJsonAsync($"/api/alerts/{unknown}/acknowledge", new { note = new string('n', 2001) });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("Note too long", (await tooLong.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        // 2,000 characters pass the check: the unknown alert is then a 404, as is reading it.
        Assert.Equal(HttpStatusCode.NotFound, (await triager.PostAsJsonAsync($"/api/alerts/{unknown}/acknowledge", new { note = new string('n', 2000) })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await triager.GetAsync($"/api/alerts/{unknown}")).StatusCode);
    }
}
