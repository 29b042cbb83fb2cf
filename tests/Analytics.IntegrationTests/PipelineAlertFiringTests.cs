using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Satisfaction;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// A projection stalled on purpose, watched by a real Prometheus (Debian's binary, loopback, its own port and data) that
/// scrapes the real worker and evaluates infra/prometheus/alerts.yml with its windows scaled from minutes to seconds.
/// </summary>
public sealed partial class PipelineAlertFiringTests
{
    /// <summary>The satisfaction projection's label value (the daemon names it by its type).</summary>
    private static readonly string Satisfaction = typeof(SatisfactionProjection).FullName!;

    [Fact]
    public async Task A_stalled_projection_fires_AnalyticsProjectionStalled_in_Prometheus_and_it_resolves_when_the_projection_moves_again()
    {
        await using var platform = await TestPlatform.CreateAsync();
        var worker = await platform.StartWorkerAsync();
        await TriageFeedback.PublishAsync(platform, TestConversations.Generate(20));
        await TestEnvironment.WaitUntilAsync(platform.ProjectionCaughtUpAsync, TimeSpan.FromSeconds(90), () => Task.FromResult("projection behind"));
        await using var prometheus = await PrometheusProcess.StartAsync(worker.Port);

        // The stall: a transaction holds a table the satisfaction projection writes, so its page waits and its position stays.
        await using var blocker = new NpgsqlConnection(platform.ConnectionString);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand($"lock table {SatisfactionProjection.CellTotals} in access exclusive mode", blocker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        await TriageFeedback.PublishAsync(platform, TestConversations.Generate(20));
        await TestEnvironment.WaitUntilAsync(
            async () => (await prometheus.AlertsAsync()).Any(a => a is { Name: "AnalyticsProjectionStalled", State: "firing" } && a.Projection == Satisfaction),
            TimeSpan.FromSeconds(150),
            async () => $"alerts: {string.Join(", ", await prometheus.AlertsAsync())}; lag {await worker.MetricAsync("analytics_projection_lag_events", "SatisfactionProjection")}");
        var alerts = await prometheus.AlertsAsync();
        Assert.DoesNotContain(alerts, a => a.Name == "AnalyticsProjectionStalled" && a.Projection != Satisfaction);
        Assert.DoesNotContain(alerts, a => a.Name == "AnalyticsWorkerDown");

        // Released: the projection catches up and the alert goes away.
        await transaction.RollbackAsync();
        await TestEnvironment.WaitUntilAsync(platform.ProjectionCaughtUpAsync, TimeSpan.FromSeconds(90), () => Task.FromResult("projection behind"));
        await TestEnvironment.WaitUntilAsync(
            async () => !(await prometheus.AlertsAsync()).Any(a => a.Name == "AnalyticsProjectionStalled"),
            TimeSpan.FromSeconds(90), async () => $"alerts: {string.Join(", ", await prometheus.AlertsAsync())}");
    }

    /// <summary>Debian's prometheus on a free loopback port, scraping one worker every second, rules evaluated every second.</summary>
    private sealed class PrometheusProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _directory;
        private readonly StringBuilder _output = new();
        private readonly HttpClient _http;

        private PrometheusProcess(Process process, string directory, int port)
        {
            _process = process;
            _directory = directory;
            _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        }

        public sealed record Alert(string Name, string? Projection, string State);

        public static async Task<PrometheusProcess> StartAsync(int workerPort)
        {
            var binary = new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException("prometheus not found: apt-get install prometheus (run-tests.sh does)");
            var directory = Directory.CreateTempSubdirectory("analytics-prometheus-").FullName;
            var rules = File.ReadAllText(Path.Combine(TestEnvironment.RepositoryRoot(), "infra", "prometheus", "alerts.yml"));
            File.WriteAllText(Path.Combine(directory, "alerts.yml"), MinutesToSeconds(rules));
            File.WriteAllText(Path.Combine(directory, "prometheus.yml"), $"""
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files:
                  - alerts.yml
                scrape_configs:
                  - job_name: analytics-worker
                    static_configs:
                      - targets: ["127.0.0.1:{workerPort}"]
                """);
            var port = FreePort.Next();
            var start = new ProcessStartInfo(binary,
            [
                $"--config.file={Path.Combine(directory, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
            ])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            var process = new Process { StartInfo = start };
            var prometheus = new PrometheusProcess(process, directory, port);
            process.OutputDataReceived += (_, e) => prometheus.Append(e.Data);
            process.ErrorDataReceived += (_, e) => prometheus.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await TestEnvironment.WaitUntilAsync(async () =>
                {
                    Assert.False(process.HasExited, $"prometheus exited:\n{prometheus.Output}");
                    try
                    {
                        return (await prometheus._http.GetAsync("-/ready")).StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                TimeSpan.FromSeconds(60), () => Task.FromResult($"prometheus not ready:\n{prometheus.Output}"));
            return prometheus;
        }

        /// <summary>The rules with their windows and durations scaled: a minute becomes four seconds ([5m] → [20s], for: 2m → for: 8s).</summary>
        public static string MinutesToSeconds(string rules) => Minutes().Replace(rules,
            m => m.Groups[1].Value + (int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * 4).ToString(CultureInfo.InvariantCulture) + "s");

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

        public async Task<IReadOnlyList<Alert>> AlertsAsync()
        {
            var response = await _http.GetFromJsonAsync<JsonElement>("api/v1/alerts");
            return response.GetProperty("data").GetProperty("alerts").EnumerateArray()
                .Select(a => new Alert(a.GetProperty("labels").GetProperty("alertname").GetString()!,
                    a.GetProperty("labels").TryGetProperty("projection", out var p) ? p.GetString() : null, a.GetProperty("state").GetString()!))
                .ToList();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            _http.Dispose();
            Directory.Delete(_directory, recursive: true);
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }

    }

    [GeneratedRegex(@"(\[|offset |for: )(\d+)m\b")]
    private static partial Regex Minutes();
}
