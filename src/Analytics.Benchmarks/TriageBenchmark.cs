using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Analytics.Contracts;
using Analytics.Simulator;
using Analytics.Triage;
using Npgsql;
using RabbitMQ.Client;
using Spectre.Console;

namespace Analytics.Benchmarks;

/// <summary>
/// The triage benchmark (<c>triage</c> subcommand). (1) Throughput: embedding + clustering of thumbs-down items in
/// this process, in the clusterer's batches, on the simulator's texts (they repeat, and a batch embeds each distinct
/// text once) and on texts made distinct (every item embedded). (2) Delay: the real worker in its own vhost and
/// database, fed a steady rate of thumbs-down conversations; per item, the delay from its rating being stored
/// (mt_events timestamp) to its row in a cluster (tri_cluster_items.clustered_at), both on the database clock.
/// Service ports come from the variables infra/scripts/services-env.sh exports (PG_PORT, RABBITMQ_PORT,
/// RABBITMQ_MANAGEMENT_PORT), as for the other benchmarks; defaults as in infra/scripts.
/// </summary>
public static class TriageBenchmark
{
    private const string Exchange = "analytics.ingest";
    private const string Queue = "analytics-ingest";

    public static async Task<int> RunAsync(TriageBenchmarkOptions options, string root, CancellationToken ct)
    {
        var start = LoadAverage();
        AnsiConsole.MarkupLine($"[bold]Analytics triage benchmark[/]: {Environment.ProcessorCount} cores, load average {Markup.Escape(start)}");
        var report = new BenchmarkReport(string.Create(CultureInfo.InvariantCulture,
            $"Triage benchmark — {options.Items:N0} items, {options.Rate} thumbs-down/s for {options.Steady.TotalSeconds:0} s"));
        if (options.Throughput)
        {
            var feedback = ThumbsDownFeedback(options.Items);
            Throughput(report, "simulator texts", "repeating: embedded once, then from the embedder's cache", feedback);
            Throughput(report, "distinct texts", "every comment and prompt embedded",
                feedback.Select((f, i) => f with { Comment = f.Comment is null ? null : $"{f.Comment} (case {i})", Prompt = f.Prompt is null ? null : $"{f.Prompt} (ticket {i})" }).ToList());
        }

        if (options.Delay)
        {
            await DelayAsync(report, root, options.Rate, (int)options.Steady.TotalSeconds, options.Build, ct);
        }

        report.Figure("Load average at the start → at the end", $"{start} → {LoadAverage()}");
        report.WriteTables();
        if (options.Markdown)
        {
            report.WriteMarkdown(commandLine: options.CommandLine);
        }

        return report.ExitCode;
    }

    /// <summary>Thumbs-down items as the simulator makes them: comment (35% of them), prompt excerpt, first reason.</summary>
    private static List<FeedbackEmbedding.Feedback> ThumbsDownFeedback(int count)
    {
        var prompts = new Dictionary<Guid, string?>();
        var feedback = new List<FeedbackEmbedding.Feedback>();
        foreach (var e in new TrafficModel(new TrafficOptions { Seed = 42, Start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero) }).Generate())
        {
            if (e is ResponseGenerated response)
            {
                prompts[response.TurnId] = response.PromptExcerpt;
            }
            else if (e is ResponseRated { Rating: Rating.Down } rated)
            {
                feedback.Add(new FeedbackEmbedding.Feedback(rated.Comment, prompts.GetValueOrDefault(rated.TurnId),
                    ThumbsDownClusterer.PrimaryReason(rated.Reasons)));
                if (feedback.Count == count)
                {
                    break;
                }
            }
        }

        return feedback;
    }

    private static void Throughput(BenchmarkReport report, string texts, string how, List<FeedbackEmbedding.Feedback> feedback)
    {
        BenchmarkReport.Step($"Throughput, {texts} ({how}): {feedback.Count:N0} items in batches of {new TriageOptions().BatchSize}");
        using var embedder = new SentenceEmbedder();
        FeedbackEmbedding.Embed(embedder, feedback.Take(64).ToList()); // warm-up: ONNX session, JIT
        var clustering = new CentroidClustering(TriageOptions.DefaultSimilarityThreshold);
        var embedTime = TimeSpan.Zero;
        var clusterTime = TimeSpan.Zero;
        var batchSize = new TriageOptions().BatchSize;
        foreach (var batch in feedback.Chunk(batchSize))
        {
            var clock = Stopwatch.StartNew();
            var vectors = FeedbackEmbedding.Embed(embedder, batch);
            embedTime += clock.Elapsed;
            clock.Restart();
            for (var i = 0; i < batch.Length; i++)
            {
                clustering.Assign(batch[i].Reason, vectors[i], Guid.NewGuid);
            }

            clusterTime += clock.Elapsed;
        }

        var total = embedTime + clusterTime;
        report.Figure($"Throughput, {texts}", string.Create(CultureInfo.InvariantCulture,
            $"{feedback.Count / total.TotalSeconds:N0} items/s ({feedback.Count:N0} items in {total.TotalSeconds:N1} s; embedding {embedTime.TotalSeconds:N1} s, assignment {clusterTime.TotalMilliseconds:N0} ms; {clustering.Clusters.Count():N0} clusters)"));
    }

    private static async Task DelayAsync(BenchmarkReport report, string root, int rate, int seconds, bool build, CancellationToken ct)
    {
        var bench = new BenchSettings(); // the services' addresses as infra/scripts/services-env.sh exports them
        if (build)
        {
            BenchmarkReport.Step("Building the worker (Release)");
            await WorkerProcess.BuildAsync(root, ct);
        }

        await using var isolation = new Isolation(bench);
        var vhost = await isolation.CreateVhostAsync("triage", ct);
        var database = await isolation.CreateDatabaseAsync("triage", ct);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ConnectionStrings__Marten"] = isolation.ConnectionString(database),
            ["RabbitMq__Uri"] = bench.AmqpUri(vhost),
            ["Urls"] = "http://127.0.0.1:0",
            ["DOTNET_ENVIRONMENT"] = "Development", // the local dev passwords and keys; outside Development the hosts refuse them (docs/security.md)
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
        };
        var log = Path.Combine(Path.GetTempPath(), $"bench-{isolation.RunId}-triage-worker.log");
        BenchmarkReport.Step($"Delay: the worker (log {log}, database {database}, vhost {vhost}), {rate} thumbs-down/s for {seconds} s after 100 untimed");
        await using var worker = WorkerProcess.Start(root, environment, log);
        await using var dataSource = NpgsqlDataSource.Create(isolation.ConnectionString(database, 4));
        await using var connection = await RabbitTools.ConnectAsync(bench.AmqpUri(vhost), "bench-triage-publisher", ct);
        await using var channel = await RabbitTools.ConfirmChannelAsync(connection, ct);
        await WaitAsync(async () => await isolation.ConsumersAsync(vhost, Queue, ct) > 0 || worker.HasExited, TimeSpan.FromMinutes(2), ct);

        // Warm-up (not counted): 100 thumbs-down, so the model is loaded and the daemon has started.
        var warmup = Conversations(100, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), 7);
        foreach (var chunk in warmup.Chunk(60))
        {
            await channel.BasicPublishAsync(Exchange, string.Empty, true, new BasicProperties { Persistent = true, ContentType = "application/json" },
                JsonSerializer.SerializeToUtf8Bytes(FeedbackEventBatch.From(chunk)), ct);
        }

        await WaitAsync(async () => await ClusteredAsync(dataSource, ct) >= 100, TimeSpan.FromMinutes(3), ct);
        var measuredFrom = await ClockAsync(dataSource, ct);

        // Steady phase: every 100 ms one message with rate / 10 thumbs-down conversations (3 events each).
        var total = rate * seconds;
        var steady = Conversations(total, new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero), 11);
        var perTick = Math.Max(1, rate / 10);
        var clock = Stopwatch.StartNew();
        var tick = 0;
        foreach (var chunk in steady.Chunk(perTick * 3))
        {
            var due = TimeSpan.FromMilliseconds(100 * tick++);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, ct);
            }

            await channel.BasicPublishAsync(Exchange, string.Empty, true, new BasicProperties { Persistent = true, ContentType = "application/json" },
                JsonSerializer.SerializeToUtf8Bytes(FeedbackEventBatch.From(chunk)), ct);
        }

        var published = clock.Elapsed;
        await WaitAsync(async () => await ClusteredAsync(dataSource, ct) >= 100 + total, TimeSpan.FromMinutes(5), ct);
        var drained = clock.Elapsed;

        var delays = await DelaysAsync(dataSource, measuredFrom, ct);
        report.Figure($"Delay at {rate} thumbs-down/s for {seconds} s", string.Create(CultureInfo.InvariantCulture,
            $"stored → clustered p50 {delays.P50:N2} s, p95 {delays.P95:N2} s, p99 {delays.P99:N2} s, max {delays.Max:N2} s ({delays.Items:N0} items; " +
            $"{total:N0} published in {published.TotalSeconds:N1} s, all clustered {drained.TotalSeconds:N1} s after the first publish)"));
        report.Target("Delay stored → clustered < 10 s (max)", string.Create(CultureInfo.InvariantCulture, $"{delays.Max:N2} s"), delays.Max < 10);
        var clusters = await ScalarAsync(dataSource, "select count(*) from analytics.tri_clusters", ct);
        report.Figure("Clusters", clusters.ToString("N0", CultureInfo.InvariantCulture));
        report.Figure("Worker peak memory", string.Create(CultureInfo.InvariantCulture, $"{worker.PeakMemoryMb():N0} MB"));
    }

    private sealed record Delays(double P50, double P95, double P99, double Max, long Items);

    /// <summary>Seconds from stored (the rating's mt_events timestamp) to clustered, of the items stored since <paramref name="measuredFrom"/>.</summary>
    private static async Task<Delays> DelaysAsync(NpgsqlDataSource dataSource, DateTime measuredFrom, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            """
            select percentile_cont(0.5) within group (order by d), percentile_cont(0.95) within group (order by d),
                   percentile_cont(0.99) within group (order by d), max(d), count(*)
            from (select extract(epoch from clustered_at - stored_at) as d from analytics.tri_cluster_items where stored_at >= $1) x
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = measuredFrom });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new Delays(reader.GetDouble(0), reader.GetDouble(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetInt64(4));
    }

    /// <summary>Thumbs-down conversations (started, response with prompt, thumbs down with the simulator's reasons and comments).</summary>
    private static List<object> Conversations(int count, DateTimeOffset start, int seed)
    {
        var events = new List<object>();
        var prompts = new Dictionary<Guid, ResponseGenerated>();
        var conversations = new Dictionary<Guid, ConversationStarted>();
        foreach (var e in new TrafficModel(new TrafficOptions { Seed = seed, Start = start }).Generate())
        {
            switch (e)
            {
                case ConversationStarted started:
                    conversations[started.ConversationId] = started;
                    break;
                case ResponseGenerated response:
                    prompts[response.TurnId] = response;
                    break;
                case ResponseRated { Rating: Rating.Down } rated when prompts.TryGetValue(rated.TurnId, out var response)
                                                                    && conversations.Remove(rated.ConversationId, out var started):
                    events.Add(started);
                    events.Add(response);
                    events.Add(rated);
                    if (events.Count == count * 3)
                    {
                        return events;
                    }

                    break;
            }
        }

        return events;
    }

    private static async Task<long> ClusteredAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        try
        {
            return await ScalarAsync(dataSource, "select count(*) from analytics.tri_cluster_items", ct);
        }
        catch (PostgresException)
        {
            return 0;
        }
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task<DateTime> ClockAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("select clock_timestamp()");
        return (DateTime)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"condition not reached within {timeout}");
            }

            await Task.Delay(200, ct);
        }
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
