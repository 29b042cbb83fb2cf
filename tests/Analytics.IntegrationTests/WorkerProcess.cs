using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Analytics.IntegrationTests;

/// <summary>The real worker (src/Analytics.Worker) as a child process, so it can be killed like a real one.</summary>
public sealed partial class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _port;

    private WorkerProcess(Process process) => _process = process;

    /// <summary>
    /// The port the worker's HTTP endpoints (/health, /metrics) are bound to: it binds port 0 and reports the port the
    /// system gave it ("Now listening on: ..."), so no other process can take it between a probe and the bind.
    /// Throws while the worker has not reported it yet (see <see cref="WaitUntilListeningAsync"/>).
    /// </summary>
    public int Port => ListeningPort() ?? throw new InvalidOperationException($"the worker has not reported its port yet:\n{Output}");

    public bool IsRunning => !_process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <param name="arguments">Command-line arguments: none runs the worker; e.g. <c>rebuild-views</c> runs that command.</param>
    public static WorkerProcess Start(string connectionString, Uri amqpUri, IDictionary<string, string>? settings, params string[] arguments)
    {
        var root = TestEnvironment.RepositoryRoot();
        var configuration = typeof(WorkerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var folder = Path.Combine(root, "src", "Analytics.Worker", "bin", configuration, "net10.0");
        var dll = Path.Combine(folder, "Analytics.Worker.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build the worker first: {dll}");
        }

        var start = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ConnectionStrings__Marten"] = connectionString;
        start.Environment["RabbitMq__Uri"] = amqpUri.ToString();
        start.Environment["Urls"] = "http://127.0.0.1:0";
        start.Environment["DOTNET_ENVIRONMENT"] = "Development"; // local passwords and keys; refused elsewhere (docs/security.md)
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information"; // "Now listening on: <bound address>"
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>SIGKILL: no shutdown hooks, no chance to ack or flush.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Waits for the process to exit (a command run) and returns its exit code.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the worker did not exit within {timeout}:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>Waits until the worker reports the port its HTTP endpoints are bound to (or fails with its output).</summary>
    public async Task<int> WaitUntilListeningAsync(TimeSpan timeout)
    {
        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(ListeningPort() is not null || !IsRunning), timeout,
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

    public async ValueTask DisposeAsync()
    {
        if (IsRunning)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (_port == 0 && ListeningLine().Match(line) is { Success: true } match)
        {
            Volatile.Write(ref _port, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        }
    }

    private int? ListeningPort() => Volatile.Read(ref _port) is > 0 and var port ? port : null;

    [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}
