using System.Globalization;

namespace Analytics.Benchmarks;

/// <summary>
/// Options of the ingest benchmark (<c>ingest</c>, also the default when no subcommand is named; bound in
/// <see cref="BenchmarkCommandLine"/>), and the service addresses every mode uses: the variables infra/scripts/services-env.sh
/// exports (PG_PORT, RABBITMQ_PORT, RABBITMQ_MANAGEMENT_PORT), defaults as in infra/scripts.
/// </summary>
public sealed record BenchSettings : IBenchmarkOptions
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
