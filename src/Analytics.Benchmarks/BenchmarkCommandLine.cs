using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace Analytics.Benchmarks;

/// <summary>
/// The benchmarks' one command line (System.CommandLine, as the simulator): a subcommand per mode, each bound to its options
/// record. With no subcommand the root runs the ingest benchmark, so <c>-- --events 100000</c> and
/// <c>-- ingest --events 100000</c> are the same run. An unknown option, a missing value or a value out of range is an
/// error: the run does not start and the exit code is <see cref="UsageError"/>. <c>--help</c> works on every subcommand.
/// </summary>
public static class BenchmarkCommandLine
{
    public const int UsageError = 2;

    public const string Run = "dotnet run -c Release --project src/Analytics.Benchmarks --";

    /// <summary>Parses <paramref name="args"/> and hands the bound options to <paramref name="run"/>; help and errors never reach it.</summary>
    public static async Task<int> InvokeAsync(IReadOnlyList<string> args, Func<IBenchmarkOptions, CancellationToken, Task<int>> run,
        TextWriter? output = null, TextWriter? error = null)
    {
        var parse = Create(run).Parse(args);
        error ??= Console.Error;
        if (parse.Errors.Count > 0)
        {
            foreach (var parseError in parse.Errors)
            {
                error.WriteLine(parseError.Message);
            }

            var path = string.Join(' ', parse.CommandResult.Command is RootCommand ? [] : new[] { parse.CommandResult.Command.Name });
            error.WriteLine($"Options: {Run} {path}{(path.Length > 0 ? " " : string.Empty)}--help");
            return UsageError;
        }

        // Ctrl+C cancels the run; it then deletes its vhosts and databases, so allow time for that.
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error,
            ProcessTerminationTimeout = TimeSpan.FromSeconds(60),
        });
    }

    public static RootCommand Create(Func<IBenchmarkOptions, CancellationToken, Task<int>> run)
    {
        var root = new RootCommand(
            "Benchmarks of the analytics platform against its own ceilings (docs/performance.md). With no subcommand: the ingest benchmark. " +
            "Service addresses come from the variables infra/scripts/services-env.sh exports (PG_PORT, RABBITMQ_PORT, RABBITMQ_MANAGEMENT_PORT).");
        Ingest(root, run);
        root.Subcommands.Add(Ingest(new Command("ingest", "The ingest benchmark (the default): broker, MassTransit and COPY ceilings beside the real worker, on the same pre-generated messages"), run));
        root.Subcommands.Add(Read(run));
        root.Subcommands.Add(Triage(run));
        root.Subcommands.Add(Alerts(run));
        root.Subcommands.Add(ScaleOut(run));
        root.Subcommands.Add(ConsolePages(run));
        return root;
    }

    private static Command Ingest(Command command, Func<IBenchmarkOptions, CancellationToken, Task<int>> run)
    {
        var events = Int("--events", "Events per scenario", 100_000, min: 1);
        var seed = Int("--seed", "Traffic model seed", 42);
        var batchSize = Int("--batch-size", "Events per message in the batched scenarios", 100, min: 1, max: 1000);
        var warmup = Int("--warmup", "Untimed events sent before each scenario (a fresh worker spends its first tens of seconds in the JIT; 0 = none)", 20_000, min: 0);
        var workerEnvironment = new Option<string[]>("--worker-env")
        {
            Description = "Extra environment variable for the worker, KEY=VALUE (repeatable), e.g. Ingestion__ConcurrentMessageLimit=1000",
            DefaultValueFactory = _ => [],
        };
        workerEnvironment.Validators.Add(result =>
        {
            foreach (var pair in result.GetValueOrDefault<string[]>() ?? [])
            {
                if (pair.IndexOf('=', StringComparison.Ordinal) <= 0)
                {
                    result.AddError($"--worker-env expects KEY=VALUE, got '{pair}'");
                }
            }
        });
        var noBuild = Flag("--no-build", "Do not build the worker in Release first");
        var noBaselines = Flag("--no-baselines", "Skip the broker, MassTransit and COPY ceilings");
        var noPublisherPath = Flag("--no-publisher-path", "Skip the Analytics.Publisher (FeedbackPublisher) scenario");
        var noSingles = Flag("--no-singles", "Skip the worker scenario with one event per message");
        var markdown = Flag("--markdown", "Also print the results as Markdown tables");
        var topology = new Option<string>("--topology")
        {
            Description = "shipped: an ingest worker (measured) + a projection worker beside it, as run-platform.sh and docker-compose run them; " +
                "ingest-only: the ingest worker alone (no projections); one-worker: one process with both roles",
            DefaultValueFactory = _ => "shipped",
        };
        topology.AcceptOnlyFromAmong("shipped", "ingest-only", "one-worker");
        Add(command, events, seed, batchSize, warmup, workerEnvironment, noBuild, noBaselines, noPublisherPath, noSingles, markdown, topology);
        command.SetAction((parse, ct) => run(new BenchSettings
        {
            Events = parse.GetValue(events),
            Seed = parse.GetValue(seed),
            BatchSize = parse.GetValue(batchSize),
            Warmup = parse.GetValue(warmup),
            BuildWorker = !parse.GetValue(noBuild),
            Baselines = !parse.GetValue(noBaselines),
            PublisherPath = !parse.GetValue(noPublisherPath),
            Singles = !parse.GetValue(noSingles),
            Markdown = parse.GetValue(markdown),
            Topology = parse.GetValue(topology) switch
            {
                "ingest-only" => WorkerTopology.IngestOnly,
                "one-worker" => WorkerTopology.OneWorker,
                _ => WorkerTopology.Shipped,
            },
            WorkerEnvironment = (parse.GetValue(workerEnvironment) ?? [])
                .Select(pair => pair.Split('=', 2))
                .GroupBy(pair => pair[0], StringComparer.Ordinal)
                .ToDictionary(group => group.Key, group => group.Last()[1], StringComparer.Ordinal),
        }, ct));
        return command;
    }

    private static Command Read(Func<IBenchmarkOptions, CancellationToken, Task<int>> run)
    {
        var command = new Command("read", "The read-side benchmark: projection rebuild beside a SQL baseline, query latency through the API beside Npgsql, projection lag");
        var events = Int("--events", "Events seeded into the event store", 1_000_000, min: 1000);
        var seed = Int("--seed", "Traffic model seed", 42);
        var days = Int("--days", "Virtual days the seeded events span, ending now", 30, min: 1, max: 365);
        var clients = Int("--clients", "Concurrent clients in the query scenarios", 8, min: 1);
        var querySeconds = Int("--query-seconds", "Seconds per query scenario", 20, min: 1);
        var lagRate = Int("--lag-rate", "Events/s published in the projection-lag scenario", 5_000, min: 100);
        var lagSeconds = Int("--lag-seconds", "Seconds of publishing in the projection-lag scenario", 30, min: 1);
        var noBuild = Flag("--no-build", "Do not build the API and the worker in Release first");
        var noQueries = Flag("--no-queries", "Skip the query-latency scenarios");
        var noLag = Flag("--no-lag", "Skip the projection-lag scenario");
        var markdown = Flag("--markdown", "Also print the results as Markdown tables");
        var database = new Option<string?>("--database")
        {
            Description = "Use and keep this database (created when missing, seeded only when it holds fewer than --events events), to re-run on one seeded store",
        };
        var noDaemonRebuild = Flag("--no-daemon-rebuild", "Skip the timing of Marten's daemon rebuild");
        var noRebuild = Flag("--no-rebuild", "No rebuild at all (with --database whose projection is up to date)");
        Add(command, events, seed, days, clients, querySeconds, lagRate, lagSeconds, noBuild, noQueries, noLag, markdown, database, noDaemonRebuild, noRebuild);
        command.SetAction((parse, ct) => run(new ReadSettings
        {
            Events = parse.GetValue(events),
            Seed = parse.GetValue(seed),
            Days = parse.GetValue(days),
            Clients = parse.GetValue(clients),
            QueryDuration = TimeSpan.FromSeconds(parse.GetValue(querySeconds)),
            LagRate = parse.GetValue(lagRate),
            LagDuration = TimeSpan.FromSeconds(parse.GetValue(lagSeconds)),
            Build = !parse.GetValue(noBuild),
            Queries = !parse.GetValue(noQueries),
            Lag = !parse.GetValue(noLag),
            Markdown = parse.GetValue(markdown),
            Database = parse.GetValue(database),
            Rebuild = !parse.GetValue(noRebuild),
            DaemonRebuild = !parse.GetValue(noRebuild) && !parse.GetValue(noDaemonRebuild),
            CommandLine = CommandLine(parse),
        }, ct));
        return command;
    }

    private static Command Triage(Func<IBenchmarkOptions, CancellationToken, Task<int>> run)
    {
        var command = new Command("triage", "The triage benchmark: embedding + clustering throughput, and the delay from a stored thumbs-down to its cluster in the real worker");
        var items = Int("--items", "Items for the throughput part", 3000, min: 1);
        var rate = Int("--rate", "Thumbs-down per second for the delay part", 50, min: 1);
        var seconds = Int("--seconds", "Length of the steady phase of the delay part", 60, min: 1);
        var noDelay = Flag("--no-delay", "Throughput only (no services needed)");
        var noThroughput = Flag("--no-throughput", "Delay only");
        var noBuild = Flag("--no-build", "Do not build the worker in Release first");
        var markdown = Flag("--markdown", "Also print the results as Markdown tables");
        Add(command, items, rate, seconds, noDelay, noThroughput, noBuild, markdown);
        command.SetAction((parse, ct) => run(new TriageBenchmarkOptions
        {
            Items = parse.GetValue(items),
            Rate = parse.GetValue(rate),
            Steady = TimeSpan.FromSeconds(parse.GetValue(seconds)),
            Delay = !parse.GetValue(noDelay),
            Throughput = !parse.GetValue(noThroughput),
            Build = !parse.GetValue(noBuild),
            Markdown = parse.GetValue(markdown),
            CommandLine = CommandLine(parse),
        }, ct));
        return command;
    }

    private static Command Alerts(Func<IBenchmarkOptions, CancellationToken, Task<int>> run)
    {
        var command = new Command("alerts", "The regression detector's evaluation (docs/alerts.md): simulated traffic in virtual time over many seeds, half with an injected drop, beside a naive rule");
        var defaults = new AlertEvaluationOptions();
        var runs = Int("--runs", "Simulated runs (half of them with a drop)", defaults.Runs, min: 1);
        var conversationsPerMinute = Double("--conversations-per-minute", "Conversation arrival rate in virtual time", defaults.ConversationsPerMinute, min: 0.0001);
        var warmupHours = Double("--warmup-hours", "Virtual hours before the drop", defaults.WarmupHours, min: 1);
        var hoursAfter = Double("--hours-after", "Virtual hours after the drop", defaults.HoursAfter, min: 0.0001);
        var drop = Double("--drop", "The injected drop of the thumbs-up rate (0.08 = eight points)", defaults.Drop, min: 0.0001, max: 0.99);
        var shift = Double("--shift", "CUSUM shift", defaults.Shift, min: 0);
        var margin = Double("--margin", "Baseline margin", defaults.Margin, min: 0);
        var threshold = Double("--threshold", "CUSUM threshold h", defaults.Threshold, min: 0.0001);
        var recoveryThreshold = Double("--recovery-threshold", "CUSUM recovery threshold", defaults.RecoveryThreshold, min: 0.0001);
        var minBaseline = Int("--min-baseline", "Minimum baseline ratings", (int)defaults.MinBaseline, min: 0);
        var minWindow = Int("--min-window", "Minimum window ratings", (int)defaults.MinWindow, min: 0);
        var naiveThresholds = new Option<double[]>("--naive-thresholds")
        {
            Description = "The naive rule's thresholds of the last hour's thumbs-down rate, comma-separated",
            DefaultValueFactory = _ => [.. defaults.NaiveThresholds],
            CustomParser = result =>
            {
                var values = new List<double>();
                foreach (var text in result.Tokens.Single().Value.Split(','))
                {
                    if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value is <= 0 or >= 1)
                    {
                        result.AddError($"--naive-thresholds expects rates between 0 and 1 separated by commas, got '{text}'");
                        return [];
                    }

                    values.Add(value);
                }

                return [.. values];
            },
        };
        var naiveMinRatings = Int("--naive-min-ratings", "The naive rule's minimum ratings in the last hour", (int)defaults.NaiveMinRatings, min: 0);
        var markdown = Flag("--markdown", "Print the table as Markdown");
        Add(command, runs, conversationsPerMinute, warmupHours, hoursAfter, drop, shift, margin, threshold, recoveryThreshold, minBaseline,
            minWindow, naiveThresholds, naiveMinRatings, markdown);
        command.SetAction((parse, ct) => run(new AlertEvaluationOptions
        {
            Runs = parse.GetValue(runs),
            ConversationsPerMinute = parse.GetValue(conversationsPerMinute),
            WarmupHours = parse.GetValue(warmupHours),
            HoursAfter = parse.GetValue(hoursAfter),
            Drop = parse.GetValue(drop),
            Shift = parse.GetValue(shift),
            Margin = parse.GetValue(margin),
            Threshold = parse.GetValue(threshold),
            RecoveryThreshold = parse.GetValue(recoveryThreshold),
            MinBaseline = parse.GetValue(minBaseline),
            MinWindow = parse.GetValue(minWindow),
            NaiveThresholds = parse.GetValue(naiveThresholds) ?? [],
            NaiveMinRatings = parse.GetValue(naiveMinRatings),
            Markdown = parse.GetValue(markdown),
        }, ct));
        return command;
    }

    private static Command ScaleOut(Func<IBenchmarkOptions, CancellationToken, Task<int>> run)
    {
        var command = new Command("scale-out",
            "Two workers and two API hosts on one broker and one database; one of each is killed mid-run; the ledger is compared with the store " +
            "(infra/scripts/scale-out.sh builds the worker and the API in Release first)");
        var conversations = Int("--conversations", "Conversations the ledger producer sends", 3000, min: 1);
        var rate = Int("--rate", "Conversations per second", 150, min: 1);
        var logs = new Option<string?>("--logs") { Description = "Folder for the hosts' logs [default: .local/scale-out]" };
        var markdown = Flag("--markdown", "Also print the results as Markdown tables");
        Add(command, conversations, rate, logs, markdown);
        command.SetAction((parse, ct) => run(new ScaleOutOptions
        {
            Conversations = parse.GetValue(conversations),
            Rate = parse.GetValue(rate),
            Logs = parse.GetValue(logs),
            Markdown = parse.GetValue(markdown),
            CommandLine = CommandLine(parse),
        }, ct));
        return command;
    }

    private static Command ConsolePages(Func<IBenchmarkOptions, CancellationToken, Task<int>> run)
    {
        var command = new Command("console", "Load times of the console's pages in Chromium against an API that is already running (goal: p95 < 1 s per page)");
        var api = new Option<string>("--api") { Description = "The API's base address, e.g. http://127.0.0.1:5080", Required = true };
        api.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } text && !Uri.TryCreate(text, UriKind.Absolute, out _))
            {
                result.AddError($"--api must be an absolute address such as http://127.0.0.1:5080, not '{text}'");
            }
        });
        var defaults = new ConsoleLoadOptions(new Uri("http://127.0.0.1/"));
        var key = new Option<string>("--key") { Description = "The API key the console signs in with", DefaultValueFactory = _ => defaults.Key };
        var window = new Option<string>("--window") { Description = "The console window", DefaultValueFactory = _ => defaults.Window };
        window.AcceptOnlyFromAmong(ConsoleLoadOptions.Windows);
        var loads = Int("--loads", "Timed loads per page", defaults.Loads, min: 1, max: 1000);
        Add(command, api, key, window, loads);
        command.SetAction((parse, ct) => run(new ConsoleLoadOptions(new Uri(parse.GetRequiredValue(api)))
        {
            Key = parse.GetRequiredValue(key),
            Window = parse.GetRequiredValue(window),
            Loads = parse.GetValue(loads),
        }, ct));
        return command;
    }

    /// <summary>The command line as given (<see cref="Run"/> and the tokens), for a mode's Markdown output.</summary>
    private static string CommandLine(ParseResult parse) => $"{Run} {string.Join(' ', parse.Tokens.Select(token => token.Value))}";

    private static void Add(Command command, params Option[] options)
    {
        foreach (var option in options)
        {
            command.Options.Add(option);
        }
    }

    private static Option<bool> Flag(string name, string description) => new(name) { Description = description, Arity = ArgumentArity.Zero };

    private static Option<int> Int(string name, string description, int defaultValue, int min = int.MinValue, int max = int.MaxValue) =>
        Number(name, description, defaultValue, min, max, NumberStyles.Integer, "a whole number");

    private static Option<double> Double(string name, string description, double defaultValue, double min = double.MinValue, double max = double.MaxValue) =>
        Number(name, description, defaultValue, min, max, NumberStyles.Float, "a number");

    /// <summary>An option read in the invariant culture, refused (exit code 2) when it is not a number or out of [min, max].</summary>
    private static Option<T> Number<T>(string name, string description, T defaultValue, T min, T max, NumberStyles styles, string expected)
        where T : INumber<T>, IMinMaxValue<T>
    {
        return new Option<T>(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (!T.TryParse(text, styles, CultureInfo.InvariantCulture, out var value))
                {
                    result.AddError($"{name} expects {expected}, got '{text}'");
                }
                else
                {
                    Range(result, name, value, min, max);
                }

                return value!;
            },
        };
    }

    private static void Range<T>(ArgumentResult result, string name, T value, T min, T max)
        where T : INumber<T>, IMinMaxValue<T>
    {
        if (value >= min && value <= max)
        {
            return;
        }

        var rule = min == T.MinValue ? FormattableString.Invariant($"at most {max}")
            : max == T.MaxValue ? FormattableString.Invariant($"at least {min}")
            : FormattableString.Invariant($"between {min} and {max}");
        result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be {rule}, got {value}"));
    }
}
