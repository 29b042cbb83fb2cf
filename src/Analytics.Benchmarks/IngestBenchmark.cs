using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Analytics.Benchmarks;

/// <summary>
/// The ingest benchmark (the default mode): the ceilings (broker, MassTransit, COPY) and the real worker on the same
/// pre-generated messages, in vhosts and databases of its own (docs/performance.md, "Ingest").
/// </summary>
public sealed class IngestBenchmark(BenchSettings settings, CancellationToken ct)
{
    private readonly List<ScenarioResult> _results = [];
    private readonly BenchmarkReport _report = new($"Ingest benchmark — {settings.Events:N0} events, seed {settings.Seed}");
    private readonly string _batchLabel = $"{settings.BatchSize} events/msg";
    private ScenarioResult? _broker1, _brokerN, _noop, _noopBatch, _copy, _platform1, _platformN, _library;

    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken ct)
    {
        var root = RepositoryRoot.Find();
        AnsiConsole.MarkupLine($"[bold]Analytics ingest benchmark[/]: {settings.Events:N0} events, seed {settings.Seed}, " +
            $"{Environment.ProcessorCount} cores, {Markup.Escape(Environment.OSVersion.ToString())}");

        if (settings.BuildWorker)
        {
            AnsiConsole.MarkupLine("Building the worker (Release)...");
            await WorkerProcess.BuildAsync(root, ct);
        }

        var generation = Stopwatch.StartNew();
        var workload = Workload.Generate(settings.Events, settings.Seed, settings.BatchSize);
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"Generated {workload.Events:N0} events ({workload.AverageEventBytes:0} B each on average; {workload.Batches.Count:N0} messages of {settings.BatchSize}) in {generation.Elapsed.TotalSeconds:0.0} s"));

        var warmup = settings.Warmup > 0 ? Workload.Generate(settings.Warmup, settings.Seed + 1_000_003, settings.BatchSize) : null;
        var benchmark = new IngestBenchmark(settings, ct);
        await using (var isolation = new Isolation(settings))
        {
            AnsiConsole.MarkupLine($"Run id {isolation.RunId}: vhosts bench-{isolation.RunId}-*, databases bench_{isolation.RunId}_* (deleted at the end)");
            if (settings.Baselines)
            {
                await benchmark.BaselinesAsync(isolation, workload, warmup);
            }

            await benchmark.PlatformAsync(new Platform(settings, isolation, root, warmup), workload);
        }

        var table = benchmark.ResultsTable();
        benchmark._report.WriteTables(table);
        if (settings.Markdown)
        {
            benchmark._report.WriteMarkdown(table);
        }

        return benchmark._report.ExitCode;
    }

    private async Task<ScenarioResult?> Run(string title, Func<Task<ScenarioResult>> scenario)
    {
        AnsiConsole.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] {Markup.Escape(title)}...");
        try
        {
            var result = await scenario();
            _results.Add(result);
            var memory = result.PeakWorkerMb is { } mb ? string.Create(CultureInfo.InvariantCulture, $", worker peak {mb:0} MB") : string.Empty;
            var cpu = result.Cpu is { } use ? $", CPU {use}" : string.Empty;
            AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"  {result.Elapsed.TotalSeconds:0.00} s, {result.MessagesPerSecond:N0} msg/s, {result.EventsPerSecond:N0} events/s{memory}{cpu}")));
            return result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _report.Fail($"{title}: {ex.GetType().Name}: {ex.Message}", ex.Message);
            return null;
        }
    }

    /// <summary>The ceilings: the broker alone, MassTransit with a no-op consumer, and COPY into PostgreSQL.</summary>
    private async Task BaselinesAsync(Isolation isolation, Workload workload, Workload? warmup)
    {
        var vhost = await isolation.CreateVhostAsync("baselines", ct);
        var database = await isolation.CreateDatabaseAsync("copy", ct);
        var amqp = settings.AmqpUri(vhost);
        if (warmup is not null)
        {
            await Run("Warm-up (not reported)", async () =>
            {
                await Baselines.BrokerAsync("warm-up", amqp, "bench-warmup", warmup.Singles, warmup.Events, ct);
                await Baselines.MassTransitNoOpAsync(amqp, "bench-masstransit-noop", warmup.Singles, warmup.Events, ct);
                await Baselines.MassTransitNoOpBatchAsync(amqp, "bench-masstransit-noop-batch", warmup.Singles, warmup.Events, ct);
                return await Baselines.CopyAsync(isolation.ConnectionString(database), "bench_warmup", warmup.Rows, ct);
            });
            _results.Clear();
        }

        _broker1 = await Run("Broker ceiling, 1 event/msg", () =>
            Baselines.BrokerAsync("Broker ceiling: RabbitMQ.Client, quorum queue, 1 event/msg", amqp, "bench-broker-single",
                workload.Singles, workload.Events, ct));
        _brokerN = await Run($"Broker ceiling, {_batchLabel}", () =>
            Baselines.BrokerAsync($"Broker ceiling: RabbitMQ.Client, quorum queue, {_batchLabel}", amqp, "bench-broker-batch",
                workload.Batches, workload.Events, ct));
        _noop = await Run("MassTransit no-op ceiling, 1 event/msg", () =>
            Baselines.MassTransitNoOpAsync(amqp, "bench-masstransit-noop", workload.Singles, workload.Events, ct));
        _noopBatch = await Run("MassTransit no-op batch ceiling, 1 event/msg", () =>
            Baselines.MassTransitNoOpBatchAsync(amqp, "bench-masstransit-noop-batch", workload.Singles, workload.Events, ct));
        _copy = await Run("COPY ceiling", () => Baselines.CopyAsync(isolation.ConnectionString(database), "bench_events", workload.Rows, ct));
    }

    /// <summary>The real worker: one event per message, batches, and batches through the publisher library.</summary>
    private async Task PlatformAsync(Platform platform, Workload workload)
    {
        if (settings.Singles)
        {
            _platform1 = await Run("Platform, 1 event/msg", () =>
                platform.RawAsync("Worker, 1 event/msg (RabbitMQ.Client)", "single", workload.Singles, workload.Events, ct));
        }

        _platformN = await Run($"Platform, {_batchLabel}", () =>
            platform.RawAsync($"Worker, {_batchLabel} (RabbitMQ.Client)", "batch", workload.Batches, workload.Events, ct));
        if (settings.PublisherPath)
        {
            _library = await Run($"Platform via FeedbackPublisher, {_batchLabel}", () =>
                platform.PublisherLibraryAsync($"Worker, {_batchLabel} (FeedbackPublisher)", "publisher", workload.Contracts,
                    settings.BatchSize, ct));
        }

        foreach (var (scenario, top) in platform.TopSnapshots)
        {
            AnsiConsole.WriteLine();
            AnsiConsole.MarkupLine($"[bold]top halfway through {Markup.Escape(scenario)}[/]");
            AnsiConsole.WriteLine(top);
        }
    }

    private static string F(double value, string format = "N0") => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Ratio(double value, double? baseline) => baseline is > 0 ? F(value / baseline.Value * 100, "0") + "%" : "–";

    /// <summary>The scenario table; adds the targets (throughput against the ceilings, the worker's memory).</summary>
    private ReportTable ResultsTable()
    {
        ThroughputTargets();
        var table = new ReportTable(_report.Title, new ReportColumn("Scenario"), new("Messages", true), new("Events", true), new("Seconds", true),
            new("Msgs/s", true), new("Events/s", true), new("Ratio to baseline", true), new("Worker peak MB", true), new("CPU (100% = 1 core)"),
            new("CPU µs/event"));
        foreach (var r in _results)
        {
            var ratio = r == _platform1 ? Ratio(r.MessagesPerSecond, _noop?.MessagesPerSecond) + " of no-op msg/s"
                : r == _platformN || r == _library ? Ratio(r.EventsPerSecond, _copy?.EventsPerSecond) + " of COPY rows/s"
                : r == _noop || r == _noopBatch ? Ratio(r.MessagesPerSecond, _broker1?.MessagesPerSecond) + " of broker msg/s"
                : "–";
            if (r.PeakWorkerMb is { } mb)
            {
                _report.Target($"{r.Name}: worker peak < 500 MB", F(mb, "0") + " MB", mb < 500);
            }

            table.AddRow(r.Name + (r.Note is null ? string.Empty : $" ({r.Note})"),
                F(r.Messages), F(r.Events), F(r.Elapsed.TotalSeconds, "0.00"), F(r.MessagesPerSecond), F(r.EventsPerSecond),
                ratio, r.PeakWorkerMb is { } peak ? F(peak, "0") : "–", r.Cpu?.ToString() ?? "–",
                r.Cpu?.MicrosecondsPerEvent(r.Events, withWorker: r.PeakWorkerMb is not null) ?? "–");
        }

        return table;
    }

    private void ThroughputTargets()
    {
        if (_platform1 is not null)
        {
            var ratio = _noop is null ? (double?)null : _platform1.MessagesPerSecond / _noop.MessagesPerSecond;
            _report.Target("1 event/msg ≥ 80% of MassTransit no-op msg/s",
                ratio is null ? F(_platform1.MessagesPerSecond) + " msg/s (no baseline)" : $"{F(_platform1.MessagesPerSecond)} vs {F(_noop!.MessagesPerSecond)} msg/s = {F(ratio.Value * 100, "0")}%",
                ratio is null ? null : ratio >= 0.8);
            if (_noopBatch is not null)
            {
                var batchRatio = _platform1.MessagesPerSecond / _noopBatch.MessagesPerSecond;
                _report.Target("(context) 1 event/msg vs MassTransit's no-op batch consumer", $"{F(_platform1.MessagesPerSecond)} vs {F(_noopBatch.MessagesPerSecond)} msg/s = {F(batchRatio * 100, "0")}%", null);
            }
        }

        if (_platformN is not null)
        {
            _report.Target($"{_batchLabel} ≥ 20,000 events/s", F(_platformN.EventsPerSecond) + " events/s", _platformN.EventsPerSecond >= 20_000);
            var ratio = _copy is null ? (double?)null : _platformN.EventsPerSecond / _copy.EventsPerSecond;
            _report.Target($"{_batchLabel} ≥ 20% of COPY rows/s",
                ratio is null ? "(no baseline)" : $"{F(_platformN.EventsPerSecond)} vs {F(_copy!.EventsPerSecond)} rows/s = {F(ratio.Value * 100, "0")}%",
                ratio is null ? null : ratio >= 0.2);
        }
    }
}
