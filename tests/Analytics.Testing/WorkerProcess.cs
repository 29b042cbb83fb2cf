using System.Globalization;
using System.Reflection;
using Analytics.Testing;

// The namespace the test projects have always used for this type: their files keep compiling unchanged.
namespace Analytics.IntegrationTests;

/// <summary>
/// The real worker (src/Analytics.Worker, built in the tests' configuration) as a child process
/// (<see cref="ChildProcess"/>), so it can be killed like a real one.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private WorkerProcess(ChildProcess process) => _process = process;

    /// <summary>
    /// The port the worker's HTTP endpoints (/health, /metrics) are bound to: it binds port 0 and reports the port the
    /// system gave it ("Now listening on: ..."), so no other process can take it between a probe and the bind.
    /// Throws while the worker has not reported it yet (see <see cref="WaitUntilListeningAsync"/>).
    /// </summary>
    public int Port => _process.ListeningPort() ?? throw new InvalidOperationException($"the worker has not reported its port yet:\n{Output}");

    public bool IsRunning => !_process.HasExited;

    public string Output => _process.Output;

    /// <param name="arguments">Command-line arguments: none runs the worker; e.g. <c>rebuild-views</c> runs that command.</param>
    public static WorkerProcess Start(string connectionString, Uri amqpUri, IDictionary<string, string>? settings, params string[] arguments)
    {
        var configuration = typeof(WorkerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Marten"] = connectionString,
            ["RabbitMq__Uri"] = amqpUri.ToString(),
            ["Urls"] = "http://127.0.0.1:0",
            ["DOTNET_ENVIRONMENT"] = "Development", // local passwords and keys; refused elsewhere (docs/security.md)
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information", // "Now listening on: <bound address>"
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return new WorkerProcess(ChildProcess.Start(TestEnvironment.RepositoryRoot(), "Analytics.Worker", configuration, environment, logPath: null, gracefulStop: null, arguments));
    }

    /// <summary>SIGKILL: no shutdown hooks, no chance to ack or flush.</summary>
    public void Kill() => _process.Kill();

    /// <summary>Waits for the process to exit (a command run) and returns its exit code.</summary>
    public Task<int> ExitCodeAsync(TimeSpan timeout) => _process.ExitCodeAsync(timeout);

    /// <summary>Waits until the worker reports the port its HTTP endpoints are bound to (or fails with its output).</summary>
    public async Task<int> WaitUntilListeningAsync(TimeSpan timeout)
    {
        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(_process.ListeningPort() is not null || !IsRunning), timeout,
            () => Task.FromResult($"the worker did not report the port it listens on:\n{Output}"));
        return Port;
    }

    /// <summary>
    /// The sum of a Prometheus series (all label sets matching <paramref name="labelFilter"/>) on the worker's
    /// /metrics endpoint. Throws when the endpoint does not answer or has no such series: "could not ask" and "not
    /// there" are failures, never 0. For a series that may rightly be absent, use <see cref="OptionalMetricAsync"/>.
    /// </summary>
    public async Task<double> MetricAsync(string name, string? labelFilter = null) =>
        await OptionalMetricAsync(name, labelFilter)
        ?? throw new InvalidOperationException($"the worker's /metrics has no series {name}{(labelFilter is null ? "" : $" with {labelFilter}")}");

    /// <summary>
    /// As <see cref="MetricAsync"/>, but null when the worker answered without that series (a counter appears at its
    /// first increment). Still throws when /metrics does not answer.
    /// </summary>
    public async Task<double?> OptionalMetricAsync(string name, string? labelFilter = null)
    {
        using var http = new HttpClient();
        string text;
        try
        {
            text = await http.GetStringAsync($"http://127.0.0.1:{Port}/metrics");
        }
        catch (HttpRequestException ex)
        {
            throw new InvalidOperationException($"the worker's /metrics did not answer ({ex.Message}); running: {IsRunning}\n{Output}", ex);
        }

        var samples = text.Split('\n')
            .Where(line => line.StartsWith(name, StringComparison.Ordinal) && (line.Length == name.Length || line[name.Length] is ' ' or '{'))
            .Where(line => labelFilter is null || line.Contains(labelFilter, StringComparison.Ordinal))
            .ToList();
        return samples.Count == 0 ? null : samples.Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>Kills the worker if it still runs.</summary>
    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
