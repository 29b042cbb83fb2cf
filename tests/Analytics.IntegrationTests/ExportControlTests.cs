using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>
/// The preference export needs the exporter (or admin) role, covers a limited range, and every run is recorded and
/// listed to admins (docs/security.md, "Preference export").
/// </summary>
public sealed class ExportControlTests : IAsyncLifetime
{
    private const string Export = "/api/exports/preference-pairs?from=2026-11-01T00:00:00Z&to=2026-11-20T00:00:00Z";
    private TestPlatform _platform = null!;
    private WebApplicationFactory<Program> _api = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _api = new WebApplicationFactory<Program>().WithWebHostBuilder(host => ApiClients.UsePlatform(host, _platform)
            .UseSetting("Exports:MaxRangeDays", "20"));
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _platform.DisposeAsync();
    }

    [Theory]
    [InlineData("local-dev-viewer-key", HttpStatusCode.Forbidden)]
    [InlineData("local-dev-triager-key", HttpStatusCode.Forbidden)]
    [InlineData("local-dev-exporter-key", HttpStatusCode.OK)]
    [InlineData("local-dev-admin-key", HttpStatusCode.OK)]
    public async Task Only_exporters_and_admins_may_export(string key, HttpStatusCode expected)
    {
        using var client = ApiClients.WithKey(_api, key);
        Assert.Equal(expected, (await client.GetAsync(Export)).StatusCode);
    }

    [Fact]
    public async Task A_range_longer_than_the_configured_maximum_is_refused_with_problem_details()
    {
        using var client = ApiClients.WithKey(_api, "local-dev-exporter-key");
        var response = await client.GetAsync("/api/exports/preference-pairs?from=2026-11-01T00:00:00Z&to=2026-11-21T00:00:01Z");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Range too long", problem.GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/exports/preference-pairs?from=2026-11-01T00:00:00Z&to=2026-11-21T00:00:00Z")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/exports/preference-pairs")).StatusCode); // the 30-day default is over 20
    }

    [Fact]
    public async Task Each_export_is_recorded_with_who_range_and_rows_and_only_admins_list_them()
    {
        using var exporter = ApiClients.WithKey(_api, "local-dev-exporter-key");
        var body = await exporter.GetStringAsync(Export + "&capability=chat");
        var rows = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

        Assert.Equal(HttpStatusCode.Forbidden, (await exporter.GetAsync("/api/exports")).StatusCode);
        using var admin = ApiClients.WithKey(_api, "local-dev-admin-key");
        var records = default(JsonElement);
        // The record is written when the stream ends, which may be just after the client read the last line.
        await TestEnvironment.WaitUntilAsync(async () => (records = await admin.GetFromJsonAsync<JsonElement>("/api/exports")).GetArrayLength() > 0,
            TimeSpan.FromSeconds(10), () => Task.FromResult("no export recorded"));
        var record = Assert.Single(records.EnumerateArray());
        Assert.Equal("dev-exporter", record.GetProperty("exportedBy").GetString());
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), record.GetProperty("from").GetDateTimeOffset());
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero), record.GetProperty("to").GetDateTimeOffset());
        Assert.Equal("chat", record.GetProperty("capability").GetString());
        Assert.Equal(rows, record.GetProperty("rows").GetInt64());
        Assert.True(record.GetProperty("completed").GetBoolean());
    }
}
