using System.Text.Json;
using Analytics.Contracts;
using Analytics.Satisfaction;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// The worker's <c>rebuild-views</c> command as an operator runs it, against a real projection worker: refused while the
/// worker's daemon runs the projection, the same tables once it has stopped, and a worker started afterwards goes on
/// from where the rebuild stopped (nothing counted twice, nothing missed).
/// </summary>
public sealed class SatisfactionRebuildTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private TestPlatform _platform = null!;
    private NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _dataSource = NpgsqlDataSource.Create(_platform.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _platform.DisposeAsync();
    }

    [Fact]
    public async Task Rebuild_views_is_refused_while_a_projection_worker_runs_and_a_worker_started_after_it_goes_on_from_its_end()
    {
        var first = TestConversations.Generate(40); // 160 events, 80 responses, 40 ratings
        first.AddRange(Comparisons(first)); // and 10 comparisons, so that every view table has rows
        var worker = await _platform.StartWorkerAsync();
        await PublishAndWaitAsync(first, worker);
        var live = await SatisfactionTables.RowsAsync(_dataSource);

        // The worker's HotCold daemon holds the projection's advisory lock: the command names it and changes nothing.
        await using (var refused = RunRebuildViews())
        {
            Assert.NotEqual(0, await refused.ExitCodeAsync(Timeout));
            Assert.Contains("A projection daemon is running the satisfaction projection", refused.Output, StringComparison.Ordinal);
        }

        Assert.Equal(live, await SatisfactionTables.RowsAsync(_dataSource));

        // Stopped, the rebuild runs and gives the same tables, row for row: every sat_* table (from pg_tables), and
        // every row of them written by the rebuild (none older than its start), so a table the rebuild leaves out
        // shows, whether it keeps its live rows or gets them twice.
        worker.Kill();
        var tables = await SatisfactionTables.NamesAsync(_dataSource);
        var beforeRebuild = await _platform.ScalarAsync<long>("select txid_current()");
        await using (var rebuild = RunRebuildViews())
        {
            Assert.True(await rebuild.ExitCodeAsync(Timeout) == 0, rebuild.Output);
            var stored = await _platform.ScalarAsync<long>("select max(seq_id) from analytics.mt_events");
            Assert.True(rebuild.Output.Contains(FormattableString.Invariant($"Rebuilt the satisfaction views from the events up to sequence {stored:N0}"), StringComparison.Ordinal),
                rebuild.Output);
            Assert.Equal(stored, await _platform.ScalarAsync<long>(
                $"select last_seq_id from analytics.mt_event_progression where name = '{SatisfactionRebuild.ProgressionName}'"));
        }

        Assert.Equal(live, await SatisfactionTables.RowsAsync(_dataSource));
        Assert.All(tables, table => Assert.Contains(live, row => row.StartsWith(table + ": ", StringComparison.Ordinal))); // none was empty to begin with
        foreach (var table in tables)
        {
            // xmin: the transaction that wrote the row (this cluster's transaction ids are far from wrapping around).
            Assert.True(0 == await _platform.ScalarAsync<long>($"select count(*) from {table} t where t.xmin::text::bigint < {beforeRebuild % (1L << 32)}"),
                $"{table} kept rows the rebuild did not write");
        }

        // A worker started afterwards projects only what came after the rebuild.
        var second = TestConversations.Generate(25);
        await PublishAndWaitAsync(second, await _platform.StartWorkerAsync());
        Assert.Equal(2 * (40 + 25), await _platform.ScalarAsync<long>($"select count(*) from {SatisfactionProjection.Responses}"));
        Assert.Equal(2 * (40 + 25), await _platform.ScalarAsync<long>(
            $"select sum(responses)::bigint from {SatisfactionProjection.CellTotals} where capability = '{SatisfactionQueries.AllCapabilities}'"));
        Assert.Equal(40 + 25, await _platform.ScalarAsync<long>(
            $"select sum(rated)::bigint from {SatisfactionProjection.CellTotals} where capability = '{SatisfactionQueries.AllCapabilities}'"));
    }

    private async Task PublishAndWaitAsync(List<object> events, WorkerProcess worker)
    {
        var before = await _platform.StoredEventCountAsync();
        await using (var channel = await _platform.OpenChannelAsync())
        {
            foreach (var batch in events.Chunk(20))
            {
                await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(batch)));
            }
        }

        await TestEnvironment.WaitUntilAsync(
            // Caught up means the worker's daemon runs the projection, so it holds the projection's lock (HotCold).
            async () => await _platform.StoredEventCountAsync() >= before + events.Count && await _platform.ProjectionCaughtUpAsync(),
            Timeout,
            async () => $"stored {await _platform.StoredEventCountAsync()} of {before + events.Count}; worker:\n{worker.Output}");
        await _platform.WaitUntilQuietAsync(Analytics.Ingesting.IngestionTopology.Queue, Timeout);
    }

    /// <summary>A comparison of each fourth conversation's two responses (atlas or borealis) with the other model's, in turn A, B, tie, both bad.</summary>
    private static List<object> Comparisons(List<object> conversations) =>
        conversations.OfType<ResponseGenerated>().Where(r => r.TurnIndex == 1).Where((_, i) => i % 4 == 0).Select((r, i) => (object)new ResponsesCompared(
            Guid.NewGuid(), r.OccurredAt.AddSeconds(5), 1, r.ConversationId, "it", Guid.NewGuid(),
            [new ComparisonCandidate(r.TurnId, r.Model), new ComparisonCandidate(Guid.NewGuid(), new ModelRef(r.Model.Id == "atlas" ? "borealis" : "atlas", "2026-11"))],
            (Preference)(i % 4), ["chat"], [], null)).ToList();

    /// <summary><c>dotnet Analytics.Worker.dll rebuild-views</c> with the worker's settings, as an operator runs it.</summary>
    private WorkerProcess RunRebuildViews() => WorkerProcess.Start(_platform.AppConnectionString, _platform.WorkerAmqpUri,
        _platform.HostSettings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value), "rebuild-views");
}
