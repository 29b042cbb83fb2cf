using System.Diagnostics;
using System.Globalization;

namespace Analytics.Benchmarks;

/// <summary>The real worker (src/Analytics.Worker, Release build) as a child process.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private WorkerProcess(Process process, StreamWriter log, string logPath)
    {
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string LogPath { get; }

    public static string WorkerDirectory(string repositoryRoot) =>
        Path.Combine(repositoryRoot, "src", "Analytics.Worker", "bin", "Release", "net10.0");

    public static async Task BuildAsync(string repositoryRoot, CancellationToken cancellationToken)
    {
        var project = Path.Combine(repositoryRoot, "src", "Analytics.Worker", "Analytics.Worker.csproj");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "build", project, "-c", "Release", "-nologo", "-v", "q" })
        {
            start.ArgumentList.Add(arg);
        }

        using var build = Process.Start(start)!;
        var output = build.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = build.StandardError.ReadToEndAsync(cancellationToken);
        await build.WaitForExitAsync(cancellationToken);
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet build of the worker failed:\n{await output}\n{await error}");
        }
    }

    /// <summary>The environment of the ingest worker as shipped (run-platform.sh, docker-compose): no daemon, no alerts.</summary>
    public static Dictionary<string, string> IngestRole(IReadOnlyDictionary<string, string> environment) =>
        new(environment) { ["Projections__RunDaemon"] = "false", ["Alerts__Enabled"] = "false" };

    /// <summary>The environment of the projection worker as shipped: the daemon and the alerts, no ingestion.</summary>
    public static Dictionary<string, string> ProjectionRole(IReadOnlyDictionary<string, string> environment) =>
        new(environment) { ["Projections__RunDaemon"] = "true", ["Alerts__Enabled"] = "true", ["Ingestion__Enabled"] = "false" };

    public static WorkerProcess Start(string repositoryRoot, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        var directory = WorkerDirectory(repositoryRoot);
        var dll = Path.Combine(directory, "Analytics.Worker.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build the worker in Release (or drop --no-build)");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process, log, logPath);
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // the worker is being disposed; its last words are lost
            }
        }
    }

    /// <summary>Peak resident set size (VmHWM) in MB.</summary>
    public double? PeakMemoryMb()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = double.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kb / 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // Ask politely (SIGTERM, as an orchestrator would), then insist.
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}
