using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Alerting;
using Analytics.Triage;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// Triage actions and alert acknowledgements are decided on the stream's own state, not on the read model: with a row
/// that disagrees with its stream, the API answers as the stream says; concurrent actions on one version leave one
/// event; and the row follows every accepted action through the inline projection.
/// </summary>
public sealed class DecisionsFromStreamsTests : ApiPlatformTest
{
    private static readonly DateTimeOffset At = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task An_alert_acknowledged_in_its_stream_is_a_409_even_when_its_row_says_otherwise()
    {
        using var triager = ApiClients.WithKey(_api, "local-dev-triager-key");
        var cell = new CellKey("decide-model", "1.0", "browsing");
        var alertId = Guid.CreateVersion7();
        await using (var session = _api.Services.GetRequiredService<IDocumentStore>().LightweightSession())
        {
            session.Events.Append(RegressionWatch.StreamIdOf(cell), new RegressionDetected(alertId, cell, At, Evidence()),
                new RegressionAcknowledged(alertId, "api-key:dana", At.AddMinutes(5), "mine"));
            await session.SaveChangesAsync();
        }

        // The read model loses the acknowledgement (a stale or damaged row): the stream still holds it.
        Assert.Equal(1, await ExecuteAsync($"update {AlertsProjection.Alerts} set acknowledged_at = null, acknowledged_by = null where alert_id = $1", alertId));

        var again = await triager.PostAsJsonAsync($"/api/alerts/{alertId}/acknowledge", new { note = "me too" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var problem = await again.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Already acknowledged", problem.GetProperty("title").GetString());
        Assert.Contains("api-key:dana", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_cluster_resolved_in_its_stream_is_a_409_even_when_its_row_says_open_and_an_assignment_updates_the_row()
    {
        using var triager = ApiClients.WithKey(_api, "local-dev-triager-key");
        var clusterId = await OpenClusterAsync(new ClusterResolved(Guid.Empty, "PR-7", 4, "api-key:dana", At.AddHours(1)));
        // The row as the clusterer wrote it, before the resolution reached it: open, version 1.
        Assert.Equal(("open", 1L), await RowAsync(clusterId));

        var resolve = await triager.PostAsJsonAsync($"/api/triage/clusters/{clusterId}/resolve", new { fixReference = "PR-8", expectedVersion = 2 });
        Assert.Equal(HttpStatusCode.Conflict, resolve.StatusCode);
        Assert.Equal("Already resolved", (await resolve.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());

        var assign = await triager.PostAsJsonAsync($"/api/triage/clusters/{clusterId}/assign", new { assignee = "eve", expectedVersion = 2 });
        Assert.Equal(HttpStatusCode.OK, assign.StatusCode);
        Assert.Equal(3, (await assign.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64());
        Assert.Equal("eve", await ScalarAsync<string>("select assignee from analytics.tri_clusters where cluster_id = $1", clusterId));
        Assert.Equal(3L, (await RowAsync(clusterId)).Version);
    }

    [Fact]
    public async Task Concurrent_actions_on_one_version_append_one_event_and_the_others_get_a_409()
    {
        var clusterId = await OpenClusterAsync();
        var clients = Enumerable.Range(0, 6).Select(_ => ApiClients.WithKey(_api, "local-dev-triager-key")).ToList();
        try
        {
            var answers = await Task.WhenAll(clients.Select((client, i) =>
                client.PostAsJsonAsync($"/api/triage/clusters/{clusterId}/notes", new { note = $"note {i}", expectedVersion = 1 })));

            Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
            Assert.Equal(answers.Length - 1, answers.Count(a => a.StatusCode == HttpStatusCode.Conflict));
            await using var session = _api.Services.GetRequiredService<IDocumentStore>().QuerySession();
            Assert.Equal(2, (await session.Events.FetchStreamAsync(clusterId)).Count);
            Assert.Equal(2L, (await RowAsync(clusterId)).Version);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    /// <summary>A cluster's stream (ClusterOpened and <paramref name="more"/>, their cluster id set) and its row as the clusterer inserts it.</summary>
    private async Task<Guid> OpenClusterAsync(params object[] more)
    {
        var clusterId = Guid.CreateVersion7();
        var events = more.Select(e => e switch
        {
            ClusterResolved r => (object)(r with { ClusterId = clusterId }),
            _ => e,
        }).Prepend(new ClusterOpened(clusterId, "decide-model", "chat", "unspecified", "a label", ClusterTriage.SystemActor, At)).ToArray();
        await using (var session = _api.Services.GetRequiredService<IDocumentStore>().LightweightSession())
        {
            session.Events.StartStream<ClusterTriage>(clusterId, events);
            await session.SaveChangesAsync();
        }

        await ExecuteAsync(
            $"""
            insert into {TriageTables.Clusters} (cluster_id, model_id, capability, reason, label, label_similarity, centroid, size,
                opened_at, first_item_at, last_item_at, state, triage_version, updated_at)
            values ($1, 'decide-model', 'chat', 'unspecified', 'a label', 1, $3, 4, $2, $2, $2, 'open', 1, $2)
            on conflict (cluster_id) do update set state = 'open', triage_version = 1
            """, clusterId, At, new float[] { 1, 0 });
        return clusterId;
    }

    private async Task<(string State, long Version)> RowAsync(Guid clusterId)
    {
        await using var dataSource = NpgsqlDataSource.Create(_platform.ConnectionString);
        await using var command = dataSource.CreateCommand($"select state, triage_version from {TriageTables.Clusters} where cluster_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = clusterId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetString(0), reader.GetInt64(1));
    }

    private async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var dataSource = NpgsqlDataSource.Create(_platform.ConnectionString);
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddRange(parameters.Select(p => new NpgsqlParameter { Value = p }).ToArray());
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private async Task<int> ExecuteAsync(string sql, params object[] parameters)
    {
        await using var dataSource = NpgsqlDataSource.Create(_platform.ConnectionString);
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddRange(parameters.Select(p => new NpgsqlParameter { Value = p }).ToArray());
        return await command.ExecuteNonQueryAsync();
    }

    private static RegressionEvidence Evidence() => new(BaselineKinds.PreviousVersion, "0.9", 900, 180, 0.2, 0.175, 0.227,
        At.AddHours(-1), At, 200, 66, 0.33, 0.27, 0.39, 11.2, 10, 0.06, 1.1, 0.0004);
}
