using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Access;
using Analytics.Exporting;
using Analytics.Satisfaction;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>
/// The preference export stops when its client goes away (docs/security.md, "Preference export"): the API on a real
/// socket streams an export far larger than the socket buffers; the client reads one line and drops the connection;
/// the export's record then says it did not run to the end and sent only part of the pairs.
/// </summary>
public sealed class ExportDisconnectTests : IAsyncLifetime
{
    private const int Pairs = 100_000;
    private const string Range = "from=2026-11-01T00:00:00Z&to=2026-11-20T00:00:00Z";
    private TestPlatform _platform = null!;
    private WebApplicationFactory<Program> _api = null!;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _api = new WebApplicationFactory<Program>().WithWebHostBuilder(host => ApiClients.UsePlatform(host, _platform)
            .UseSetting("Urls", ApiClients.AnyLoopbackPort));
        _address = ApiClients.StartOnKestrel(_api); // applies the schema
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _platform.DisposeAsync();
    }

    [Fact]
    public async Task An_export_whose_client_goes_away_stops_and_is_recorded_as_not_completed()
    {
        // 100,000 side-by-side comparisons with a winner, one per 10 seconds from 2026-11-01: about 35 MB of JSON Lines.
        Assert.Equal(Pairs, await _platform.ScalarAsync<long>(
            $"""
            with inserted as (
                insert into {SatisfactionProjection.Comparisons} (comparison_id, conversation_id, occurred_at, hour, a_turn_id, a_model_id, a_model_version,
                    b_turn_id, b_model_id, b_model_version, preferred, capabilities, reasons)
                select gen_random_uuid(), gen_random_uuid(), t, date_trunc('hour', t), gen_random_uuid(), 'atlas', '2026-11', gen_random_uuid(), 'borealis',
                    '1.5', case when i % 2 = 0 then 'a' else 'b' end, array['chat'], array[]::text[]
                from generate_series(1, {Pairs}) i, lateral (select timestamptz '2026-11-01T00:00:00Z' + i * interval '10 seconds' as t) x
                returning 1)
            select count(*) from inserted
            """));

        using (var client = new HttpClient { BaseAddress = _address })
        {
            client.DefaultRequestHeaders.Add(ApiKeyAuthentication.HeaderName, "local-dev-exporter-key");
            using var response = await client.GetAsync($"/api/exports/preference-pairs?{Range}", HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync();
            using var reader = new StreamReader(body);
            var first = JsonSerializer.Deserialize<JsonElement>((await reader.ReadLineAsync())!);
            Assert.Equal("comparison", first.GetProperty("source").GetString());
        } // disposed mid-stream: the connection is closed

        using var admin = ApiClients.WithKey(_api, "local-dev-admin-key");
        JsonElement record = default;
        await TestEnvironment.WaitUntilAsync(
            async () =>
            {
                var records = await admin.GetFromJsonAsync<JsonElement>("/api/exports");
                return records.GetArrayLength() == 1 && (record = records[0]).ValueKind == JsonValueKind.Object;
            },
            TimeSpan.FromSeconds(60), () => Task.FromResult("the export was never recorded: it is still running or did not stop"));
        Assert.False(record.GetProperty("completed").GetBoolean(), $"the export ran to the end: {record}");
        var rows = record.GetProperty("rows").GetInt64();
        Assert.InRange(rows, 1, Pairs - 1);
        Assert.Equal(1, await _platform.ScalarAsync<long>($"select count(*) from {PreferencePairsExport.Table} where not completed"));
    }
}
