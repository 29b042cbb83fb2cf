using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Analytics.Benchmarks;

/// <summary>
/// The ingest benchmark (the default mode): the ceilings (broker, MassTransit, COPY) and the real worker on the same
/// pre-generated messages, in vhosts and databases of its own (docs/performance.md, "Ingest").
/// </summary>
public static class IngestBenchmark
{
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
        var results = new List<ScenarioResult>();
        var failures = new List<string>();
        ScenarioResult? broker1 = null, brokerN = null, noop = null, noopBatch = null, copy = null, platform1 = null, platformN = null, library = null;
        var batchLabel = $"{settings.BatchSize} events/msg";

        async Task<ScenarioResult?> Run(string title, Func<Task<ScenarioResult>> scenario)
        {
            AnsiConsole.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] {Markup.Escape(title)}...");
            try
            {
                var result = await scenario();
                results.Add(result);
                var memory = result.PeakWorkerMb is { } mb ? string.Create(CultureInfo.InvariantCulture, $", worker peak {mb:0} MB") : string.Empty;
                var cpu = result.Cpu is { } use ? $", CPU {use}" : string.Empty;
                AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                    $"  {result.Elapsed.TotalSeconds:0.00} s, {result.MessagesPerSecond:N0} msg/s, {result.EventsPerSecond:N0} events/s{memory}{cpu}")));
                return result;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                failures.Add($"{title}: {ex.GetType().Name}: {ex.Message}");
                AnsiConsole.MarkupLine($"  [red]failed[/]: {Markup.Escape(ex.Message)}");
                return null;
            }
        }

        await using (var isolation = new Isolation(settings))
        {
            AnsiConsole.MarkupLine($"Run id {isolation.RunId}: vhosts bench-{isolation.RunId}-*, databases bench_{isolation.RunId}_* (deleted at the end)");
            if (settings.Baselines)
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
                    results.Clear();
                }

                broker1 = await Run("Broker ceiling, 1 event/msg", () =>
                    Baselines.BrokerAsync("Broker ceiling: RabbitMQ.Client, quorum queue, 1 event/msg", amqp, "bench-broker-single",
                        workload.Singles, workload.Events, ct));
                brokerN = await Run($"Broker ceiling, {batchLabel}", () =>
                    Baselines.BrokerAsync($"Broker ceiling: RabbitMQ.Client, quorum queue, {batchLabel}", amqp, "bench-broker-batch",
                        workload.Batches, workload.Events, ct));
                noop = await Run("MassTransit no-op ceiling, 1 event/msg", () =>
                    Baselines.MassTransitNoOpAsync(amqp, "bench-masstransit-noop", workload.Singles, workload.Events, ct));
                noopBatch = await Run("MassTransit no-op batch ceiling, 1 event/msg", () =>
                    Baselines.MassTransitNoOpBatchAsync(amqp, "bench-masstransit-noop-batch", workload.Singles, workload.Events, ct));
                copy = await Run("COPY ceiling", () => Baselines.CopyAsync(isolation.ConnectionString(database), "bench_events", workload.Rows, ct));
            }

            var platform = new Platform(settings, isolation, root, warmup);
            if (settings.Singles)
            {
                platform1 = await Run("Platform, 1 event/msg", () =>
                    platform.RawAsync("Worker, 1 event/msg (RabbitMQ.Client)", "single", workload.Singles, workload.Events, ct));
            }

            platformN = await Run($"Platform, {batchLabel}", () =>
                platform.RawAsync($"Worker, {batchLabel} (RabbitMQ.Client)", "batch", workload.Batches, workload.Events, ct));
            if (settings.PublisherPath)
            {
                library = await Run($"Platform via FeedbackPublisher, {batchLabel}", () =>
                    platform.PublisherLibraryAsync($"Worker, {batchLabel} (FeedbackPublisher)", "publisher", workload.Contracts,
                        settings.BatchSize, ct));
            }

            foreach (var (scenario, top) in platform.TopSnapshots)
            {
                AnsiConsole.WriteLine();
                AnsiConsole.MarkupLine($"[bold]top halfway through {Markup.Escape(scenario)}[/]");
                AnsiConsole.WriteLine(top);
            }
        }

        // The table.
        static string F(double value, string format = "N0") => value.ToString(format, CultureInfo.InvariantCulture);
        static string Ratio(double value, double? baseline) => baseline is > 0 ? F(value / baseline.Value * 100, "0") + "%" : "–";

        var targets = new List<(string Target, string Measured, bool? Met)>();
        string MemoryVerdict(ScenarioResult? r)
        {
            if (r?.PeakWorkerMb is not { } mb)
            {
                return "–";
            }

            targets.Add(($"{r.Name}: worker peak < 500 MB", F(mb, "0") + " MB", mb < 500));
            return F(mb, "0");
        }

        if (platform1 is not null)
        {
            var ratio = noop is null ? (double?)null : platform1.MessagesPerSecond / noop.MessagesPerSecond;
            targets.Add(("1 event/msg ≥ 80% of MassTransit no-op msg/s",
                ratio is null ? F(platform1.MessagesPerSecond) + " msg/s (no baseline)" : $"{F(platform1.MessagesPerSecond)} vs {F(noop!.MessagesPerSecond)} msg/s = {F(ratio.Value * 100, "0")}%",
                ratio is null ? null : ratio >= 0.8));
            if (noopBatch is not null)
            {
                var batchRatio = platform1.MessagesPerSecond / noopBatch.MessagesPerSecond;
                targets.Add(("(context) 1 event/msg vs MassTransit's no-op batch consumer", $"{F(platform1.MessagesPerSecond)} vs {F(noopBatch.MessagesPerSecond)} msg/s = {F(batchRatio * 100, "0")}%", null));
            }
        }

        if (platformN is not null)
        {
            targets.Add(($"{batchLabel} ≥ 20,000 events/s", F(platformN.EventsPerSecond) + " events/s", platformN.EventsPerSecond >= 20_000));
            var ratio = copy is null ? (double?)null : platformN.EventsPerSecond / copy.EventsPerSecond;
            targets.Add(($"{batchLabel} ≥ 20% of COPY rows/s",
                ratio is null ? "(no baseline)" : $"{F(platformN.EventsPerSecond)} vs {F(copy!.EventsPerSecond)} rows/s = {F(ratio.Value * 100, "0")}%",
                ratio is null ? null : ratio >= 0.2));
        }

        var table = new Table().Border(TableBorder.Rounded).Title($"Ingest benchmark — {settings.Events:N0} events, seed {settings.Seed}");
        foreach (var column in new[] { "Scenario", "Messages", "Events", "Seconds", "Msgs/s", "Events/s", "Ratio to baseline", "Worker peak MB", "CPU (100% = 1 core)" })
        {
            table.AddColumn(new TableColumn(column) { Alignment = column == "Scenario" ? Justify.Left : Justify.Right });
        }

        var rows = new List<string[]>();
        foreach (var r in results)
        {
            var ratio = r == platform1 ? Ratio(r.MessagesPerSecond, noop?.MessagesPerSecond) + " of no-op msg/s"
                : r == platformN || r == library ? Ratio(r.EventsPerSecond, copy?.EventsPerSecond) + " of COPY rows/s"
                : r == noop || r == noopBatch ? Ratio(r.MessagesPerSecond, broker1?.MessagesPerSecond) + " of broker msg/s"
                : "–";
            var row = new[]
            {
                r.Name + (r.Note is null ? string.Empty : $" ({r.Note})"),
                F(r.Messages), F(r.Events), F(r.Elapsed.TotalSeconds, "0.00"), F(r.MessagesPerSecond), F(r.EventsPerSecond),
                ratio, r.PeakWorkerMb is null ? "–" : MemoryVerdict(r), r.Cpu?.ToString() ?? "–",
            };
            rows.Add(row);
            table.AddRow(row.Select(Markup.Escape).ToArray());
        }

        AnsiConsole.WriteLine();
        AnsiConsole.Write(table);

        var verdicts = new Table().Border(TableBorder.Rounded).Title("Targets");
        verdicts.AddColumn("Target").AddColumn("Measured").AddColumn("Result");
        foreach (var (target, measured, met) in targets)
        {
            verdicts.AddRow(Markup.Escape(target), Markup.Escape(measured),
                met switch { true => "[green]met[/]", false => "[red]MISSED[/]", null => "[yellow]n/a[/]" });
        }

        AnsiConsole.Write(verdicts);
        foreach (var failure in failures)
        {
            AnsiConsole.MarkupLine($"[red]Failed:[/] {Markup.Escape(failure)}");
        }

        if (settings.Markdown)
        {
            Console.WriteLine();
            Console.WriteLine("| Scenario | Messages | Events | Seconds | Msgs/s | Events/s | Ratio to baseline | Worker peak MB | CPU (100% = 1 core) |");
            Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|--:|---|");
            foreach (var row in rows)
            {
                Console.WriteLine("| " + string.Join(" | ", row) + " |");
            }

            Console.WriteLine();
            Console.WriteLine("| Target | Measured | Result |");
            Console.WriteLine("|---|---|---|");
            foreach (var (target, measured, met) in targets)
            {
                Console.WriteLine($"| {target} | {measured} | {met switch { true => "met", false => "**missed**", null => "n/a" }} |");
            }
        }

        return failures.Count == 0 ? 0 : 1;
    }
}
