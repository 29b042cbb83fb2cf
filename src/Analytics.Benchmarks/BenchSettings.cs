using System.Globalization;

namespace Analytics.Benchmarks;

/// <summary>Command-line options of the benchmark.</summary>
public sealed record BenchSettings
{
    public int Events { get; init; } = 100_000;

    public int Seed { get; init; } = 42;

    public int BatchSize { get; init; } = 100;

    /// <summary>Events sent (and not timed) before each scenario, so JIT and connection set-up stay out of the figures.</summary>
    public int Warmup { get; init; } = 20_000;

    public bool BuildWorker { get; init; } = true;

    public bool Baselines { get; init; } = true;

    public bool PublisherPath { get; init; } = true;

    public bool Singles { get; init; } = true;

    public bool Markdown { get; init; }

    /// <summary>Which worker processes run beside the measured ingest worker (docs/architecture.md, "Processes").</summary>
    public WorkerTopology Topology { get; init; } = WorkerTopology.Shipped;

    public string RabbitHost { get; init; } = "127.0.0.1";

    public int RabbitPort { get; init; } = PortFromEnvironment("RABBITMQ_PORT", 5672);

    public Uri Management { get; init; } = new($"http://127.0.0.1:{PortFromEnvironment("RABBITMQ_MANAGEMENT_PORT", 15672)}/");

    public string User { get; init; } = "analytics";

    public string Password { get; init; } = "analytics";

    public string PostgresAdmin { get; init; } =
        $"Host=127.0.0.1;Port={PortFromEnvironment("PG_PORT", 5432)};Database=postgres;Username=analytics;Password=analytics";

    /// <summary>Extra environment variables for the worker, e.g. Ingestion__MessageLimit=200.</summary>
    public IReadOnlyDictionary<string, string> WorkerEnvironment { get; init; } = new Dictionary<string, string>();

    public const string Usage = """
        Usage: dotnet run -c Release --project src/Analytics.Benchmarks -- [options]
          --events N            events per scenario (default 100000)
          --seed S              traffic model seed (default 42)
          --batch-size B        events per message in the batched scenarios (default 100)
          --warmup W            untimed events sent before each scenario (default 20000: a fresh worker spends its first tens of seconds in the JIT; 0 = none)
          --worker-env K=V      extra environment variable for the worker (repeatable),
                                e.g. --worker-env Ingestion__ConcurrentMessageLimit=1000
          --no-build            do not build the worker in Release first
          --no-baselines        skip the broker, MassTransit and COPY ceilings
          --no-publisher-path   skip the Analytics.Publisher (FeedbackPublisher) scenario
          --no-singles          skip the worker scenario with one event per message
          --markdown            also print the results as a Markdown table
          --topology T          shipped (default): an ingest worker (measured) + a projection worker beside it,
                                as run-platform.sh and docker-compose run them; ingest-only: the ingest worker
                                alone (no projections); one-worker: one process with both roles
        Read side (projection rebuild, query latency, projection lag): ... -- read --help
        Triage (embedding + clustering throughput, stored → clustered delay): ... -- triage --help
        """;

    public static BenchSettings? Parse(string[] args)
    {
        var settings = new BenchSettings();
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--events":
                    settings = settings with { Events = int.Parse(Next(), CultureInfo.InvariantCulture) };
                    break;
                case "--seed":
                    settings = settings with { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) };
                    break;
                case "--warmup":
                    settings = settings with { Warmup = int.Parse(Next(), CultureInfo.InvariantCulture) };
                    break;
                case "--batch-size":
                    settings = settings with { BatchSize = int.Parse(Next(), CultureInfo.InvariantCulture) };
                    break;
                case "--worker-env":
                    var pair = Next();
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new ArgumentException($"--worker-env expects KEY=VALUE, got '{pair}'");
                    }

                    env[pair[..eq]] = pair[(eq + 1)..];
                    break;
                case "--no-build":
                    settings = settings with { BuildWorker = false };
                    break;
                case "--no-baselines":
                    settings = settings with { Baselines = false };
                    break;
                case "--no-singles":
                    settings = settings with { Singles = false };
                    break;
                case "--no-publisher-path":
                    settings = settings with { PublisherPath = false };
                    break;
                case "--markdown":
                    settings = settings with { Markdown = true };
                    break;
                case "--topology":
                    settings = settings with
                    {
                        Topology = Next() switch
                        {
                            "shipped" => WorkerTopology.Shipped,
                            "ingest-only" => WorkerTopology.IngestOnly,
                            "one-worker" => WorkerTopology.OneWorker,
                            var other => throw new ArgumentException($"--topology expects shipped, ingest-only or one-worker, got '{other}'"),
                        },
                    };
                    break;
                case "-h" or "--help":
                    return null;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        if (settings.Events < 1 || settings.Warmup < 0 || settings.BatchSize is < 1 or > 1000)
        {
            throw new ArgumentException("--events must be at least 1 and --batch-size between 1 and 1000");
        }

        return settings with { WorkerEnvironment = env };
    }

    /// <summary>The services' ports come from the same variables as infra/scripts (PG_PORT, RABBITMQ_PORT, RABBITMQ_MANAGEMENT_PORT).</summary>
    private static int PortFromEnvironment(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var port) ? port : fallback;

    public string AmqpUri(string vhost) =>
        $"amqp://{Uri.EscapeDataString(User)}:{Uri.EscapeDataString(Password)}@{RabbitHost}:{RabbitPort}/{Uri.EscapeDataString(vhost)}";
}

public enum WorkerTopology
{
    /// <summary>Ingest worker (daemon and alerts off) + projection worker (ingestion off).</summary>
    Shipped,

    /// <summary>The ingest worker alone: nothing projects.</summary>
    IngestOnly,

    /// <summary>One worker process with both roles.</summary>
    OneWorker,
}
