using System.Diagnostics;
using Analytics.Satisfaction;
using Analytics.Triage;
using Spectre.Console;

namespace Analytics.Benchmarks;

/// <summary>
/// The read-side benchmark (<c>read</c> subcommand): seed N simulated events into a fresh event store, rebuild
/// the satisfaction projection against a set-based SQL baseline, load the satisfaction API against the same SQL
/// straight through Npgsql (<see cref="ReadQueryScenarios"/>), and measure projection lag behind the live worker.
/// </summary>
public sealed class ReadBenchmark
{
    private readonly ReadSettings _settings;
    private readonly string _root;
    private readonly Isolation _isolation;
    private readonly ReadSeeding _seeding;
    private readonly string _database;
    private readonly BenchmarkReport _report;
    private readonly CancellationToken _ct;

    /// <summary>Events in the store, once seeded.</summary>
    private long _stored;

    /// <summary>The end of the seeded window: the hour after the last event.</summary>
    private DateTimeOffset _end;

    private long _responseEvents;

    private ReadBenchmark(ReadSettings settings, string root, Isolation isolation, ReadSeeding seeding, string database, BenchmarkReport report,
        CancellationToken ct)
    {
        (_settings, _root, _isolation, _seeding, _database, _report, _ct) = (settings, root, isolation, seeding, database, report, ct);
    }

    public static async Task<int> RunAsync(ReadSettings settings, string root, CancellationToken ct)
    {
        AnsiConsole.MarkupLine($"[bold]Analytics read-side benchmark[/]: {settings.Events:N0} events over {settings.Days} virtual days, seed {settings.Seed}, " +
            $"{Environment.ProcessorCount} cores, {Markup.Escape(Environment.OSVersion.ToString())}");
        var total = Stopwatch.StartNew();
        var report = new BenchmarkReport($"Read-side benchmark — {settings.Events:N0} events, {settings.Days} days, seed {settings.Seed}");
        if (settings.Build)
        {
            BenchmarkReport.Step("Building the API and the worker (Release)");
            await ApiProcess.BuildAsync(root, ct);
            await WorkerProcess.BuildAsync(root, ct);
        }

        await using (var isolation = new Isolation(new BenchSettings()))
        {
            AnsiConsole.MarkupLine($"Run id {isolation.RunId}: vhost bench-{isolation.RunId}-lag, databases bench_{isolation.RunId}_* (deleted at the end)");
            var database = settings.Database is { } kept
                ? await isolation.KeptDatabaseAsync(kept, ct)
                : await isolation.CreateDatabaseAsync("read", ct);
            await using var seeding = await ReadSeeding.CreateAsync(isolation.ConnectionString(database, 20), ct);
            await new ReadBenchmark(settings, root, isolation, seeding, database, report, ct).StepsAsync();
        }

        report.WriteTables();
        AnsiConsole.MarkupLine(FormattableString.Invariant($"Whole run: {total.Elapsed.TotalMinutes:0.0} min"));
        if (settings.Markdown)
        {
            report.WriteMarkdown(commandLine: settings.CommandLine);
        }

        return report.ExitCode;
    }

    private async Task StepsAsync()
    {
        // 1. Seeding (or a kept store that already holds the events).
        await SeedAsync();
        await VacuumAsync("analytics.mt_events");

        // 2. Rebuilds vs SQL.
        _responseEvents = await _seeding.ScalarAsync("select count(*) from analytics.mt_events where type = 'response_generated_recorded'", _ct);
        var (setBased, setBasedTables) = _settings.Rebuild ? await SetBasedRebuildAsync() : (null, new Dictionary<string, string>());
        if (!_settings.Rebuild)
        {
            await EnsureProjectedAsync();
        }

        var daemonRebuild = _settings.DaemonRebuild ? await DaemonRebuildAsync(setBasedTables) : (TimeSpan?)null;
        await SqlBaselineAsync(setBased, daemonRebuild);

        // vacuum too: Marten's rebuild deletes the rows it replaces, and autovacuum cleaning them up during the query
        // scenarios took PostgreSQL's cores from the API (over-time p50 88 ms in one 1M run). One table per statement:
        // VACUUM runs outside a transaction only.
        foreach (var (viewTable, _) in SatisfactionRebuild.TableKeys)
        {
            await VacuumAsync(viewTable);
        }

        // 3. Query latency.
        if (_settings.Queries)
        {
            await new ReadQueryScenarios(_settings, _root, _isolation, _seeding, _database, _end, _report).RunAsync(_ct);
        }

        // 4. Projection lag behind the live worker.
        if (_settings.Lag)
        {
            await ProjectionLagAsync();
        }
    }

    private async Task SeedAsync()
    {
        var now = DateTimeOffset.UtcNow;
        _end = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(1);
        _stored = await _seeding.ScalarAsync("select count(*) from analytics.mt_events", _ct);
        if (_stored > 0 && _stored >= _settings.Events)
        {
            var (firstEvent, lastEvent) = await _seeding.EventTimesAsync(_ct);
            _end = new DateTimeOffset(lastEvent.Year, lastEvent.Month, lastEvent.Day, lastEvent.Hour, 0, 0, TimeSpan.Zero).AddHours(1);
            _report.Figure("Seeding", FormattableString.Invariant(
                $"kept database {_database}: {_stored:N0} events already stored ({firstEvent:yyyy-MM-dd HH:mm} .. {lastEvent:yyyy-MM-dd HH:mm} UTC), not seeded again"));
            return;
        }

        if (_stored > 0)
        {
            throw new InvalidOperationException($"database {_database} holds {_stored:N0} events, fewer than --events {_settings.Events:N0}: drop it or name another");
        }

        var traffic = ReadSeeding.Window(_settings.Events, _settings.Days, _settings.Seed, _end.AddHours(-1));
        BenchmarkReport.Step($"Generating and seeding with BulkInsertEventsAsync (calls of whole conversations, ~50,000 events each)");
        var seed = await _seeding.SeedAsync(traffic, _settings.Events, _ct);
        var seedElapsed = seed.Inserting;
        AnsiConsole.MarkupLine(Markup.Escape(FormattableString.Invariant(
            $"  {seed.Events:N0} events in {seed.Conversations:N0} conversations, {seed.First:yyyy-MM-dd HH:mm} .. {seed.Last:yyyy-MM-dd HH:mm} UTC ({traffic.ConversationsPerMinute:0.00} conversations/min), {seed.Calls} calls; generated in {seed.Generating.TotalSeconds:0.0} s (untimed)")));
        _stored = await _seeding.ScalarAsync("select count(*) from analytics.mt_events", _ct);
        _report.Figure("Seeding (BulkInsertEventsAsync)", FormattableString.Invariant($"{_stored:N0} events in {seedElapsed.TotalSeconds:0.0} s = {_stored / seedElapsed.TotalSeconds:N0} events/s"));
    }

    private async Task VacuumAsync(string table)
    {
        await using var vacuum = _seeding.DataSource.CreateCommand($"vacuum analyze {table}");
        vacuum.CommandTimeout = 0;
        await vacuum.ExecuteNonQueryAsync(_ct);
    }

    private async Task<(TimeSpan? Elapsed, Dictionary<string, string> Tables)> SetBasedRebuildAsync()
    {
        BenchmarkReport.Step($"Rebuilding the satisfaction views set-based (SatisfactionRebuild, the worker's rebuild-views command; chunks of {SatisfactionRebuild.ChunkEvents:N0} events)");
        var setBasedCpu = CpuSnapshot.Take(null);
        var setBased = await _seeding.SetBasedRebuildAsync(
            p => AnsiConsole.MarkupLine(Markup.Escape(FormattableString.Invariant($"  {p.Replayed:N0} of {p.Ceiling:N0} events, {p.Elapsed.TotalSeconds:0.0} s"))), _ct);
        var setBasedUse = CpuSnapshot.Take(null).Since(setBasedCpu);
        var setBasedRate = _stored / setBased.TotalSeconds;
        _report.Figure("Projection rebuild (rebuild-views, set-based)", FormattableString.Invariant(
            $"{_stored:N0} events in {setBased.TotalSeconds:0.0} s = {setBasedRate:N0} events/s (CPU: PostgreSQL {setBasedUse.Postgres:0}%, this process {setBasedUse.Benchmark:0}%; 100% = 1 core)"));
        _report.Figure("Rows projected", await RowsProjectedAsync());
        _report.Target("Rebuild ≥ 20,000 events/s (rebuild-views)", FormattableString.Invariant($"{setBasedRate:N0} events/s"), setBasedRate >= 20_000);
        return (setBased, await _seeding.TableDigestsAsync(_ct));
    }

    /// <summary>With --no-rebuild, the kept store's projection must already be up to date.</summary>
    private async Task EnsureProjectedAsync()
    {
        var behind = await _seeding.ScalarAsync(
            $"select (select max(seq_id) from analytics.mt_events) - coalesce((select last_seq_id from analytics.mt_event_progression where name = '{SatisfactionRebuild.ProgressionName}'), 0)", _ct);
        if (behind > 10_000) // the last few are the triage clusterer's own events, appended after the last page
        {
            throw new InvalidOperationException($"--no-rebuild: the projection is {behind:N0} events behind in {_database}; rebuild once first");
        }
    }

    private async Task<TimeSpan> DaemonRebuildAsync(Dictionary<string, string> setBasedTables)
    {
        BenchmarkReport.Step("Rebuilding SatisfactionProjection (Marten daemon RebuildProjectionAsync, as `projections rebuild`)");
        var rebuildCpu = CpuSnapshot.Take(null);
        var rebuild = await _seeding.RebuildAsync(_ct);
        var rebuildRate = _stored / rebuild.TotalSeconds;
        var rebuildUse = CpuSnapshot.Take(null).Since(rebuildCpu);
        _report.Figure("Projection rebuild (Marten daemon)", FormattableString.Invariant(
            $"{_stored:N0} events in {rebuild.TotalSeconds:0.0} s = {rebuildRate:N0} events/s (CPU: PostgreSQL {rebuildUse.Postgres:0}%, Marten in this process {rebuildUse.Benchmark:0}%; 100% = 1 core)"));
        await RowsProjectedAsync();
        var daemonTables = await _seeding.TableDigestsAsync(_ct);
        var differing = setBasedTables.Where(t => daemonTables[t.Key] != t.Value).Select(t => t.Key).ToList();
        _report.Figure("Tables after both rebuilds", differing.Count == 0
            ? $"identical, row for row ({setBasedTables.Count} tables, md5 of every row in key order)"
            : "DIFFERENT: " + string.Join(", ", differing));
        if (differing.Count > 0)
        {
            _report.Fail("the set-based and the daemon rebuild gave different tables: " + string.Join(", ", differing));
        }

        return rebuild;
    }

    private async Task<string> RowsProjectedAsync()
    {
        var responses = await _seeding.ScalarAsync($"select count(*) from {SatisfactionProjection.Responses}", _ct);
        var ratings = await _seeding.ScalarAsync($"select count(*) from {SatisfactionProjection.Ratings}", _ct);
        var conversations = await _seeding.ScalarAsync($"select count(*) from {SatisfactionProjection.Conversations}", _ct);
        var comparisons = await _seeding.ScalarAsync($"select count(*) from {SatisfactionProjection.Comparisons}", _ct);
        if (responses != _responseEvents)
        {
            _report.Fail($"rebuild: {responses} sat_responses rows for {_responseEvents} response events");
        }

        return FormattableString.Invariant(
            $"{conversations:N0} conversations, {responses:N0} responses (of {_responseEvents:N0} response events), {ratings:N0} ratings, {comparisons:N0} comparisons");
    }

    private async Task SqlBaselineAsync(TimeSpan? setBased, TimeSpan? daemonRebuild)
    {
        BenchmarkReport.Step("SQL baseline: INSERT … SELECT … GROUP BY model, version, capability, hour from mt_events JSON");
        var (sqlElapsed, sqlRows) = await _seeding.SqlBaselineAsync(_ct);
        _report.Figure("SQL baseline (set-based, responses only)", FormattableString.Invariant(
            $"{_responseEvents:N0} response events of {_stored:N0} scanned → {sqlRows:N0} cells in {sqlElapsed.TotalSeconds:0.00} s = {_stored / sqlElapsed.TotalSeconds:N0} events/s scanned"));
        if (setBased is { } setBasedTime)
        {
            _report.Figure("Rebuild / SQL baseline time", FormattableString.Invariant($"rebuild-views {setBasedTime.TotalSeconds / sqlElapsed.TotalSeconds:0.0}×")
                + (daemonRebuild is { } rebuilt ? FormattableString.Invariant($", Marten daemon {rebuilt.TotalSeconds / sqlElapsed.TotalSeconds:0.0}×") : ""));
        }
    }

    private async Task ProjectionLagAsync()
    {
        // The seeded history never went through the platform, so the triage clusterer (a subscription in the
        // projection worker) would start clustering all of it during the measurement: in a running platform it
        // is caught up. It starts at the end of the seeded store and clusters the lag traffic as it comes (its own
        // throughput: the triage benchmark).
        var skipped = await _seeding.ScalarAsync($"""
            with target as (select coalesce(max(seq_id), 0) as seq from analytics.mt_events),
            before as (select coalesce((select last_seq_id from analytics.mt_event_progression where name = '{ThumbsDownClusterer.SubscriptionName}:All'), 0) as seq)
            insert into analytics.mt_event_progression (name, last_seq_id, last_updated)
            select '{ThumbsDownClusterer.SubscriptionName}:All', target.seq, now() from target
            on conflict (name) do update set last_seq_id = greatest(mt_event_progression.last_seq_id, excluded.last_seq_id), last_updated = now()
            returning (select target.seq - before.seq from target, before)
            """, _ct);
        AnsiConsole.MarkupLine(FormattableString.Invariant($"  triage clusterer starts at the end of the seeded store ({skipped:N0} seeded events not clustered)"));
        BenchmarkReport.Step($"Projection lag: ingest worker + projection worker (as shipped) in a fresh vhost on the seeded store ({_stored:N0} events, projection rebuilt), {_settings.LagRate:N0} events/s for {_settings.LagDuration.TotalSeconds:0} s (batches of 100)");
        var lag = new ProjectionLag(new BenchSettings(), _isolation, _root);
        try
        {
            // A kept store holds the lag events of earlier runs: other seeds, or they would all be duplicates.
            var lagSeed = _settings.Database is null ? _settings.Seed : _settings.Seed + (int)(_stored % 1_000_000_007);
            var runs = await lag.RunAsync(_settings.LagRate, 3, _settings.LagDuration, lagSeed, _database,
                line => AnsiConsole.MarkupLine(Markup.Escape(line)), _ct);
            AnsiConsole.MarkupLine($"  progression row: {Markup.Escape(lag.ProgressionName ?? "?")}; worker log {Markup.Escape(lag.WorkerLog ?? "?")}");
            foreach (var run in runs)
            {
                _report.Figure(FormattableString.Invariant($"Projection lag at {run.TargetRate:N0} events/s"), FormattableString.Invariant(
                    $"p50 {run.P50Ms:N0} ms, p99 {run.P99Ms:N0} ms, max {run.MaxMs:N0} ms (commit → high-water mark p50 {run.HighWater.P50Ms:N0} ms, p99 {run.HighWater.P99Ms:N0} ms); published {run.PublishedRate:N0}/s, committed {run.CommittedRate:N0}/s ({(run.Sustained ? "sustained" : "NOT sustained")}; queue {run.QueueDepthAtEnd} msgs at end; CPU {run.Cpu})"));
            }

            var measured = runs.LastOrDefault(r => r.Sustained) ?? runs[^1];
            var note = measured.TargetRate == _settings.LagRate && measured.Sustained
                ? string.Empty
                : FormattableString.Invariant($" at {measured.TargetRate:N0} events/s (the worker did not sustain {_settings.LagRate:N0})");
            _report.Target("Projection lag p99 < 2 s", FormattableString.Invariant($"{measured.P99Ms:N0} ms{note}"), measured.P99Ms < 2000);
            _report.Target($"Worker sustains {_settings.LagRate:N0} events/s (batches of 100)",
                FormattableString.Invariant($"committed {runs[0].CommittedRate:N0} events/s"), runs[0].Sustained);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_ct.IsCancellationRequested)
        {
            _report.Fail($"projection lag: {ex.GetType().Name}: {ex.Message}", ex.Message);
        }
    }
}
