using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Analytics.Testing;

/// <summary>
/// A host of this repository (src/Analytics.Worker, src/Analytics.Api) run as a real child process: built on demand,
/// started from its build output with settings as environment variables, its output kept in memory (or in a log
/// file instead when one is given), the port it bound read back from its "Now listening on" line, /health awaited, and stopped as an
/// orchestrator would (SIGTERM, then SIGKILL after a grace period) or killed outright.
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StreamWriter? _log;
    private readonly TimeSpan? _gracefulStop;
    private int _port;

    /// <summary>stdout and stderr until each has ended (the reader's null line); 0 once all the output has been read.</summary>
    private int _openStreams = 2;

    private ChildProcess(Process process, string name, StreamWriter? log, string? logPath, TimeSpan? gracefulStop)
    {
        _process = process;
        Name = name;
        _log = log;
        LogPath = logPath;
        _gracefulStop = gracefulStop;
    }

    /// <summary>The project's name, e.g. Analytics.Worker.</summary>
    public string Name { get; }

    /// <summary>Where the output is copied to, when a log file was asked for.</summary>
    public string? LogPath { get; }

    public int Pid => _process.Id;

    /// <summary>
    /// True once the process has exited and everything it wrote has been read (both redirected streams have ended), so
    /// <see cref="Output"/> then holds its last lines (a fault hook's, say). Never blocks: it reads the process's state and
    /// the end of its streams, which the output readers record as they reach it.
    /// </summary>
    public bool HasExited => _process.HasExited && Volatile.Read(ref _openStreams) == 0;

    /// <summary>Everything it wrote to stdout and stderr so far (kept in memory, or in the log file when there is one).</summary>
    public string Output
    {
        get
        {
            if (LogPath is not null)
            {
                using var reader = new StreamReader(new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
                return reader.ReadToEnd();
            }

            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The folder of a project's build output, e.g. src/Analytics.Worker/bin/Release/net10.0.</summary>
    public static string OutputDirectory(string repositoryRoot, string project, string configuration) =>
        Path.Combine(repositoryRoot, "src", project, "bin", configuration, "net10.0");

    /// <summary><c>dotnet build</c> of src/&lt;project&gt;; throws with the compiler's output when it fails.</summary>
    public static Task BuildAsync(string repositoryRoot, string project, string configuration, CancellationToken cancellationToken) =>
        RunToEndAsync("dotnet", ["build", Path.Combine(repositoryRoot, "src", project, $"{project}.csproj"), "-c", configuration, "-nologo", "-v", "q"],
            repositoryRoot, [], TimeSpan.FromMinutes(30), cancellationToken);

    /// <summary>
    /// Runs a command to its end (a build, a script) and returns what it wrote to stdout and stderr; throws with that
    /// output when it exits with another code than 0, and kills it when it takes longer than <paramref name="timeout"/>.
    /// </summary>
    public static async Task<string> RunToEndAsync(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IEnumerable<KeyValuePair<string, string>> environment, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var command = $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)}";
        using var process = Process.Start(StartInfo(fileName, arguments, workingDirectory, environment))!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} did not finish in {timeout.TotalSeconds:0} s");
        }

        var output = await stdout + await stderr;
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{command} failed ({process.ExitCode}):\n{output}");
    }

    /// <summary>
    /// Starts src/&lt;project&gt; from its build output. <paramref name="environment"/> holds its settings
    /// (ConnectionStrings__Marten, Urls, ...); bind <c>Urls=http://127.0.0.1:0</c> and keep the Microsoft.Hosting.Lifetime
    /// log at Information to read the port back (<see cref="WaitUntilListeningAsync"/>). With
    /// <paramref name="gracefulStop"/>, disposing stops it as <see cref="StopAsync"/> does; without, disposing kills it.
    /// </summary>
    public static ChildProcess Start(string repositoryRoot, string project, string configuration,
        IEnumerable<KeyValuePair<string, string>> environment, string? logPath = null, TimeSpan? gracefulStop = null, params string[] arguments)
    {
        var directory = OutputDirectory(repositoryRoot, project, configuration);
        var dll = Path.Combine(directory, $"{project}.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build {project} ({configuration}) first");
        }

        var start = StartInfo("dotnet", [dll, .. arguments], directory, environment);
        var log = logPath is null ? null : new StreamWriter(logPath) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        var child = new ChildProcess(process, project, log, logPath, gracefulStop);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IEnumerable<KeyValuePair<string, string>> environment)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return start;
    }

    /// <summary>The port the host reported it listens on ("Now listening on: http://127.0.0.1:PORT"), null until then.</summary>
    public int? ListeningPort() => Volatile.Read(ref _port) is > 0 and var port ? port : null;

    /// <summary>Waits until the host reports the port it is bound to; fails with its output when it exits or the time is up.</summary>
    public async Task<int> WaitUntilListeningAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (ListeningPort() is { } port)
            {
                return port;
            }

            if (HasExited || clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name} did not report the port it listens on within {timeout.TotalSeconds:0} s " +
                    $"(exited: {HasExited}){Describe()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Waits until GET /health on the reported port answers with success; returns the host's base address.</summary>
    public async Task<Uri> WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var port = await WaitUntilListeningAsync(timeout, cancellationToken);
        var baseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (HasExited)
            {
                throw new InvalidOperationException($"{Name} exited during start-up{Describe()}");
            }

            try
            {
                using var response = await http.GetAsync("health", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return baseAddress;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name} did not answer /health within {timeout.TotalSeconds:0} s{Describe()}");
            }

            await Task.Delay(200, cancellationToken);
        }
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
            throw new TimeoutException($"{Name} did not exit within {timeout}{Describe()}");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown hooks, no chance to ack or flush.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Asks politely (SIGTERM, as an orchestrator would), then insists (SIGKILL) after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        using var patience = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Peak resident set size (VmHWM) in MB, null when /proc does not tell.</summary>
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

    /// <summary>Ends the process if it still runs: gracefully when started with a graceful stop, else killed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_gracefulStop is { } grace)
        {
            await StopAsync(grace);
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        if (_log is not null)
        {
            lock (_log)
            {
                _log.Dispose();
            }
        }
    }

    private string Describe() => LogPath is null ? $":\n{Output}" : $"; see {LogPath}";

    private void Append(string? line)
    {
        if (line is null)
        {
            Interlocked.Decrement(ref _openStreams);
            return;
        }

        if (_log is null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
        else
        {
            lock (_log)
            {
                try
                {
                    _log.WriteLine(line);
                }
                catch (ObjectDisposedException)
                {
                    // the process is being disposed; its last words are lost
                }
            }
        }

        if (_port == 0 && ListeningLine().Match(line) is { Success: true } match)
        {
            Volatile.Write(ref _port, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}
