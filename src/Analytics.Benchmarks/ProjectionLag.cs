using System.Diagnostics;
using Npgsql;
using RabbitMQ.Client;

namespace Analytics.Benchmarks;

/// <summary>Projection lag under a steady publish rate.</summary>
public sealed record LagResult(
    int TargetRate, double PublishedRate, double CommittedRate, long Events, int Samples, int Unreached,
    double P50Ms, double P99Ms, double MaxMs, long QueueDepthAtEnd)
{
    /// <summary>CPU per process group over the run (100% = one core).</summary>
    public string Cpu { get; init; } = string.Empty;

    /// <summary>The part of the lag before the daemon's high-water mark reached the sequence (committed → HWM), p50 and p99.</summary>
    public (double P50Ms, double P99Ms) HighWater { get; init; }

    /// <summary>How the projection's progression moved during the publishing window: its steps (events) and the time between them.</summary>
    public string Steps { get; init; } = string.Empty;

    /// <summary>The worker kept up when it committed at least 95% of the published rate.</summary>
    public bool Sustained => CommittedRate >= 0.95 * PublishedRate;
}

/// <summary>
/// The real worker (ingestion + async daemon running SatisfactionProjection) in its own vhost and database;
/// events published at a steady rate in batches of 100 per message; every 100 ms a sampler records
/// max(seq_id) of mt_events (committed events) and the projection's last_seq_id in mt_event_progression.
/// Lag of sequence s = first time the progression reached s minus first time mt_events' max reached s.
/// </summary>
public sealed class ProjectionLag(BenchSettings bench, Isolation isolation, string repositoryRoot)
{
    private const string Exchange = "analytics.ingest";
    private const string Queue = "analytics-ingest";
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(100);

    private long _floor;

    public string? ProgressionName { get; private set; }

    public string? WorkerLog { get; private set; }

    /// <summary>
    /// Runs at <paramref name="rate"/>; when the worker does not keep up, drains and runs again (same worker) at 90% of
    /// the rate it did commit, up to <paramref name="attempts"/> runs.
    /// </summary>
    /// <param name="database">The store to ingest into: the seeded one (its projection rebuilt), or null for a fresh database.</param>
    public async Task<List<LagResult>> RunAsync(int rate, int attempts, TimeSpan duration, int seed, string? database, Action<string> report,
        CancellationToken cancellationToken)
    {
        var vhost = await isolation.CreateVhostAsync("lag", cancellationToken);
        database ??= await isolation.CreateDatabaseAsync("lag", cancellationToken);
        var amqpUri = bench.AmqpUri(vhost);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ConnectionStrings__Marten"] = isolation.ConnectionString(database),
            ["RabbitMq__Uri"] = amqpUri,
            ["Urls"] = "http://127.0.0.1:0",
            ["DOTNET_ENVIRONMENT"] = "Development", // the local dev passwords and keys; outside Development the hosts refuse them (docs/security.md)
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
        };
        // As shipped (run-platform.sh, docker-compose): an ingest worker and, beside it, a projection worker.
        WorkerLog = Path.Combine(Path.GetTempPath(), $"bench-{isolation.RunId}-lag-worker.log");
        await using var worker = WorkerProcess.Start(repositoryRoot, WorkerProcess.IngestRole(environment), WorkerLog);
        await WaitForConsumerAsync(worker, vhost, cancellationToken);
        await using var projector = WorkerProcess.Start(repositoryRoot, WorkerProcess.ProjectionRole(environment), Path.Combine(Path.GetTempPath(), $"bench-{isolation.RunId}-lag-projection-worker.log"));
        await using var dataSource = NpgsqlDataSource.Create(isolation.ConnectionString(database, 4));
        await using var connection = await RabbitTools.ConnectAsync(amqpUri, "bench-lag-publisher", cancellationToken);
        await using var channel = await RabbitTools.ConfirmChannelAsync(connection, cancellationToken);

        // Events are counted above the store's sequence before the run (a full count(*) of a 10M-event store is a
        // seconds-long scan, run by every poll, that competed with the workers for PostgreSQL).
        await using (var max = dataSource.CreateCommand("select coalesce(max(seq_id), 0) from analytics.mt_events"))
        {
            _floor = (long)(await max.ExecuteScalarAsync(cancellationToken))!;
        }

        // Warm-up (untimed): JIT, pools, schema, and the daemon's leader election and first catch-up.
        var warmup = Workload.Generate(20_000, seed + 1_000_003, 100);
        await RabbitTools.PublishAllAsync(channel, Exchange, string.Empty, warmup.Batches, cancellationToken);
        await WaitCaughtUpAsync(dataSource, worker, warmup.Events, TimeSpan.FromMinutes(3), cancellationToken);
        ProgressionName = await ProgressionNameAsync(dataSource, cancellationToken);
        long total = warmup.Events;

        var results = new List<LagResult>();
        for (var index = 0; index < attempts; index++)
        {
            var events = (int)(rate * duration.TotalSeconds);
            var workload = Workload.Generate(events, seed + 7 + index, 100);
            var ingestCpu = CpuSnapshot.Take(worker.Pid);
            var projectorCpu = CpuSnapshot.Take(projector.Pid);
            var result = await MeasureAsync(dataSource, channel, worker, vhost, workload, rate, cancellationToken);
            var ingestUse = CpuSnapshot.Take(worker.Pid).Since(ingestCpu);
            var projectorUse = CpuSnapshot.Take(projector.Pid).Since(projectorCpu);
            result = result with
            {
                Cpu = FormattableString.Invariant(
                    $"ingest worker {ingestUse.Worker:0}% / projection worker {projectorUse.Worker:0}% / mq {ingestUse.Broker:0}% / pg {ingestUse.Postgres:0}% / bench {ingestUse.Benchmark:0}%"),
            };
            results.Add(result);
            total += workload.Events;
            report(FormattableString.Invariant(
                $"  {rate:N0} events/s target: published {result.PublishedRate:N0}/s, committed {result.CommittedRate:N0}/s, lag p50 {result.P50Ms:N0} ms, p99 {result.P99Ms:N0} ms, max {result.MaxMs:N0} ms (of which commit → high-water mark p50 {result.HighWater.P50Ms:N0} ms, p99 {result.HighWater.P99Ms:N0} ms; projection {result.Steps}; {result.Samples} samples, {result.Unreached} unreached), queue at end {result.QueueDepthAtEnd}; CPU {result.Cpu}"));
            if (result.Sustained)
            {
                break;
            }

            // Drain before the next, lower rate.
            await WaitCaughtUpAsync(dataSource, worker, total, TimeSpan.FromMinutes(5), cancellationToken);
            rate = Math.Max(100, (int)(result.CommittedRate * 0.9 / 100) * 100);
        }

        return results;
    }

    private async Task<LagResult> MeasureAsync(NpgsqlDataSource dataSource, IChannel channel, ChildProcess worker, string vhost,
        Workload workload, int rate, CancellationToken cancellationToken)
    {
        var events = new List<(double T, long Seq)>();
        var progress = new List<(double T, long Seq)>();
        var highWater = new List<(double T, long Seq)>();
        var clock = Stopwatch.StartNew();
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var baseline = await EventCountAsync(dataSource, cancellationToken);
        long startSeq;
        await using (var max = dataSource.CreateCommand("select coalesce(max(seq_id), 0) from analytics.mt_events"))
        {
            startSeq = (long)(await max.ExecuteScalarAsync(cancellationToken))!;
        }

        var sampling = Task.Run(() => SampleAsync(dataSource, clock, events, progress, highWater, stopSampling.Token, cancellationToken), cancellationToken);
        var publishStart = clock.Elapsed;
        await PublishPacedAsync(channel, workload, rate, clock, cancellationToken);
        var publishElapsed = clock.Elapsed - publishStart;
        var committedDuringPublish = await EventCountAsync(dataSource, cancellationToken) - baseline;
        var queueDepth = await isolation.MessagesAsync(vhost, Queue, cancellationToken) ?? -1;
        var publishedRate = workload.Events / publishElapsed.TotalSeconds;
        var committedRate = committedDuringPublish / publishElapsed.TotalSeconds;
        var publishEndMs = clock.Elapsed.TotalMilliseconds;

        // Keep sampling until the projection caught up with what was committed during the publishing window
        // (or 60 s), so late sequences still get their lag.
        long target;
        lock (events)
        {
            target = events.Where(e => e.T <= publishEndMs).Select(e => e.Seq).DefaultIfEmpty(0).Max();
        }

        await WaitForProjectionAsync(worker, events, progress, target, cancellationToken);
        await stopSampling.CancelAsync();
        await sampling;

        var (lags, unreached) = Lags(events, progress, startSeq, publishStart.TotalMilliseconds, publishEndMs);
        var (highWaterLags, _) = Lags(events, highWater, startSeq, publishStart.TotalMilliseconds, publishEndMs);
        var highWaterSorted = highWaterLags.Order().ToArray();
        var sorted = lags.Order().ToArray();
        return new LagResult(rate, publishedRate, committedRate, workload.Events, sorted.Length, unreached,
            QueryLoad.Percentile(sorted, 0.5), QueryLoad.Percentile(sorted, 0.99), sorted.Length == 0 ? double.NaN : sorted[^1], queueDepth)
        {
            HighWater = (QueryLoad.Percentile(highWaterSorted, 0.5), QueryLoad.Percentile(highWaterSorted, 0.99)),
            Steps = Steps(progress, publishStart.TotalMilliseconds, publishEndMs),
        };
    }

    /// <summary>Samples the store's last sequence, the projection's and the high-water mark every <see cref="SampleEvery"/> until <paramref name="stop"/>.</summary>
    private async Task SampleAsync(NpgsqlDataSource dataSource, Stopwatch clock, List<(double T, long Seq)> events, List<(double T, long Seq)> progress,
        List<(double T, long Seq)> highWater, CancellationToken stop, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            select (select coalesce(max(seq_id), 0) from analytics.mt_events),
                (select coalesce(max(last_seq_id), 0) from analytics.mt_event_progression where name = $1),
                (select coalesce(max(last_seq_id), 0) from analytics.mt_event_progression where name = 'HighWaterMark')
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ProgressionName! });
        await command.PrepareAsync(cancellationToken);
        while (!stop.IsCancellationRequested)
        {
            var t0 = clock.Elapsed.TotalMilliseconds;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                var t = (t0 + clock.Elapsed.TotalMilliseconds) / 2;
                lock (events)
                {
                    events.Add((t, reader.GetInt64(0)));
                    progress.Add((t, reader.GetInt64(1)));
                    highWater.Add((t, reader.GetInt64(2)));
                }
            }

            try
            {
                await Task.Delay(SampleEvery, stop);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>Paced publishing: message i goes out at start + i / (rate / batch); confirms are awaited in the background, then all of them.</summary>
    private static async Task PublishPacedAsync(IChannel channel, Workload workload, int rate, Stopwatch clock, CancellationToken cancellationToken)
    {
        var properties = new BasicProperties { Persistent = true, ContentType = "application/json" };
        var messagesPerSecond = rate / (double)workload.BatchSize;
        var confirms = new List<Task>(workload.Batches.Count);
        var publishStart = clock.Elapsed;
        for (var i = 0; i < workload.Batches.Count; i++)
        {
            var due = publishStart + TimeSpan.FromSeconds(i / messagesPerSecond);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken);
            }

            confirms.Add(channel.BasicPublishAsync(Exchange, string.Empty, mandatory: false, properties, workload.Batches[i], cancellationToken).AsTask());
        }

        await Task.WhenAll(confirms);
    }

    /// <summary>Waits (at most 60 s, or until the worker exits) until the sampled projection reached <paramref name="target"/>.</summary>
    private static async Task WaitForProjectionAsync(ChildProcess worker, List<(double T, long Seq)> events, List<(double T, long Seq)> progress, long target,
        CancellationToken cancellationToken)
    {
        var grace = Stopwatch.StartNew();
        while (grace.Elapsed < TimeSpan.FromSeconds(60) && !worker.HasExited)
        {
            lock (events)
            {
                if (progress.Count > 0 && progress[^1].Seq >= target)
                {
                    break;
                }
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>The progression's moves inside the window, as sampled: how many, their size and the time between them (p50 / p90).</summary>
    private static string Steps(List<(double T, long Seq)> progress, double fromMs, double toMs)
    {
        var moves = new List<(double T, long Events)>();
        for (var i = 1; i < progress.Count; i++)
        {
            if (progress[i].T >= fromMs && progress[i].T <= toMs && progress[i].Seq > progress[i - 1].Seq)
            {
                moves.Add((progress[i].T, progress[i].Seq - progress[i - 1].Seq));
            }
        }

        if (moves.Count < 2)
        {
            return $"{moves.Count} moves";
        }

        var sizes = moves.Select(m => (double)m.Events).Order().ToArray();
        var gaps = moves.Zip(moves.Skip(1), (a, b) => b.T - a.T).Order().ToArray();
        return FormattableString.Invariant(
            $"{moves.Count} moves of {QueryLoad.Percentile(sizes, 0.5):N0} / {QueryLoad.Percentile(sizes, 0.9):N0} events every {QueryLoad.Percentile(gaps, 0.5):N0} / {QueryLoad.Percentile(gaps, 0.9):N0} ms");
    }

    /// <summary>
    /// For every sample in the publishing window at which new sequences became visible in <paramref name="events"/>:
    /// the time until <paramref name="progress"/> first reached that sequence.
    /// </summary>
    private static (List<double> Lags, int Unreached) Lags(List<(double T, long Seq)> events, List<(double T, long Seq)> progress,
        long startSeq, double fromMs, double toMs)
    {
        var lags = new List<double>();
        var unreached = 0;
        var j = 0;
        var previous = startSeq;
        foreach (var (t, seq) in events)
        {
            if (t < fromMs || t > toMs || seq <= previous)
            {
                previous = Math.Max(previous, seq);
                continue;
            }

            previous = seq;
            while (j < progress.Count && progress[j].Seq < seq)
            {
                j++;
            }

            if (j == progress.Count)
            {
                unreached++;
                continue;
            }

            lags.Add(Math.Max(0, progress[j].T - t));
        }

        return (lags, unreached);
    }

    /// <summary>Events stored by this run (above the sequence the store had before it).</summary>
    private async Task<long> EventCountAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select count(*) from analytics.mt_events where seq_id > $1 and type <> 'tombstone'");
        command.Parameters.Add(new NpgsqlParameter { Value = _floor });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<string> ProgressionNameAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "select name from analytics.mt_event_progression where name like '%SatisfactionProjection%' order by name limit 1");
        return (string?)await command.ExecuteScalarAsync(cancellationToken)
            ?? throw new InvalidOperationException("no SatisfactionProjection row in mt_event_progression");
    }

    /// <summary>Waits until <paramref name="expected"/> events of this run are stored and the projection reached max(seq_id).</summary>
    private async Task WaitCaughtUpAsync(NpgsqlDataSource dataSource, ChildProcess worker, long expected, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var command = dataSource.CreateCommand("""
                    select (select count(*) from analytics.mt_events where seq_id > $1 and type <> 'tombstone'),
                        (select coalesce(max(seq_id), 0) from analytics.mt_events),
                        (select coalesce(max(last_seq_id), 0) from analytics.mt_event_progression where name like '%SatisfactionProjection%')
                    """);
                command.Parameters.Add(new NpgsqlParameter { Value = _floor });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                if (reader.GetInt64(0) >= expected && reader.GetInt64(2) >= reader.GetInt64(1))
                {
                    return;
                }
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
            {
            }

            if (worker.HasExited)
            {
                throw new InvalidOperationException($"the worker exited; see {worker.LogPath}");
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"events or projection not caught up after {timeout.TotalSeconds:0} s; see {worker.LogPath}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    private async Task WaitForConsumerAsync(ChildProcess worker, string vhost, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (await isolation.ConsumersAsync(vhost, Queue, cancellationToken) < 1)
        {
            if (worker.HasExited)
            {
                throw new InvalidOperationException($"the worker exited during start-up; see {worker.LogPath}");
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"no consumer on {Queue} after 2 minutes; see {worker.LogPath}");
            }

            await Task.Delay(250, cancellationToken);
        }
    }
}
