namespace Analytics.Benchmarks;

/// <summary>The real worker (src/Analytics.Worker, Release build) as a child process (<see cref="ChildProcess"/>).</summary>
public static class WorkerProcess
{
    private const string Project = "Analytics.Worker";

    public static string WorkerDirectory(string repositoryRoot) => ChildProcess.OutputDirectory(repositoryRoot, Project, "Release");

    public static Task BuildAsync(string repositoryRoot, CancellationToken cancellationToken) =>
        ChildProcess.BuildAsync(repositoryRoot, Project, "Release", cancellationToken);

    /// <summary>The environment of the ingest worker as shipped (run-platform.sh, docker-compose): no daemon, no alerts.</summary>
    public static Dictionary<string, string> IngestRole(IReadOnlyDictionary<string, string> environment) =>
        new(environment) { ["Projections__RunDaemon"] = "false", ["Alerts__Enabled"] = "false" };

    /// <summary>The environment of the projection worker as shipped: the daemon and the alerts, no ingestion.</summary>
    public static Dictionary<string, string> ProjectionRole(IReadOnlyDictionary<string, string> environment) =>
        new(environment) { ["Projections__RunDaemon"] = "true", ["Alerts__Enabled"] = "true", ["Ingestion__Enabled"] = "false" };

    /// <summary>Starts the worker with its output in <paramref name="logPath"/>; disposing it sends SIGTERM, then SIGKILL after 30 s.</summary>
    public static ChildProcess Start(string repositoryRoot, IReadOnlyDictionary<string, string> environment, string logPath) =>
        ChildProcess.Start(repositoryRoot, Project, "Release", environment, logPath, gracefulStop: TimeSpan.FromSeconds(30));
}
