using System.Text.RegularExpressions;
using Analytics.Benchmarks;

namespace Analytics.Tests;

/// <summary>
/// The benchmarks' command line refuses what it does not know, rather than running with a default in its place, and every
/// command line the docs show still parses to the options it names.
/// </summary>
public sealed partial class BenchmarkOptionsTests
{
    [Theory]
    [InlineData("alerts", "--runz", "3")]
    [InlineData("alerts", "--drop")]
    [InlineData("alerts", "runs", "3")]
    [InlineData("alerts", "--naive-thresholds", "0.3,x")]
    [InlineData("--event", "2000")]
    [InlineData("--events")]
    [InlineData("--topology", "two-workers")]
    [InlineData("--worker-env", "Ingestion__MessageLimit")]
    [InlineData("ingest", "--event", "2000")]
    [InlineData("ingest", "--batch-size", "1001")]
    [InlineData("read", "--client", "2")]
    [InlineData("read", "--events")]
    [InlineData("read", "--events", "999")]
    [InlineData("read", "--days", "many")]
    [InlineData("triage", "--item", "10")]
    [InlineData("triage", "--rate")]
    [InlineData("scale-out", "--conversation", "10")]
    [InlineData("scale-out", "--rate")]
    [InlineData("console")]
    [InlineData("console", "--api", "http://127.0.0.1:5080", "--window", "1y")]
    [InlineData("console", "--api", "http://127.0.0.1:5080", "--load", "3")]
    [InlineData("console", "--api")]
    public async Task An_unknown_option_a_missing_value_or_a_value_out_of_range_is_refused_with_exit_code_2(params string[] args)
    {
        var (exitCode, options, _, error) = await InvokeAsync(args);

        Assert.Equal(BenchmarkCommandLine.UsageError, exitCode);
        Assert.Null(options);
        Assert.Contains("--help", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ingest", "--worker-env")]
    [InlineData("read", "--lag-rate")]
    [InlineData("triage", "--no-throughput")]
    [InlineData("alerts", "--naive-min-ratings")]
    [InlineData("scale-out", "--logs")]
    [InlineData("console", "--loads")]
    public async Task Every_subcommand_answers_help_with_its_options_and_runs_nothing(string subcommand, string option)
    {
        var (exitCode, options, output, _) = await InvokeAsync([subcommand, "--help"]);

        Assert.Equal(0, exitCode);
        Assert.Null(options);
        Assert.Contains(option, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_subcommand_is_the_ingest_benchmark_with_its_defaults()
    {
        var (exitCode, options, _, _) = await InvokeAsync([]);

        Assert.Equal(0, exitCode);
        Assert.Equal(new BenchSettings().Events, Assert.IsType<BenchSettings>(options).Events);
        Assert.Equal(WorkerTopology.Shipped, ((BenchSettings)options).Topology);
        Assert.True(((BenchSettings)options).Baselines);
    }

    [Fact]
    public async Task The_ingest_options_bind_to_the_settings_record()
    {
        var (exitCode, options, _, _) = await InvokeAsync(["ingest", "--events", "2000", "--batch-size", "10", "--warmup", "0", "--no-baselines",
            "--worker-env", "A=1", "--worker-env", "B=x=y", "--topology", "one-worker", "--markdown"]);

        Assert.Equal(0, exitCode);
        var ingest = Assert.IsType<BenchSettings>(options);
        Assert.Equal((2000, 10, 0, false, true, WorkerTopology.OneWorker, true),
            (ingest.Events, ingest.BatchSize, ingest.Warmup, ingest.Baselines, ingest.Singles, ingest.Topology, ingest.Markdown));
        Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "x=y" }, ingest.WorkerEnvironment);
    }

    [Fact]
    public async Task No_rebuild_also_means_no_daemon_rebuild_and_the_read_run_keeps_its_command_line()
    {
        var (_, options, _, _) = await InvokeAsync(["read", "--events", "5000", "--no-rebuild", "--query-seconds", "3"]);

        var read = Assert.IsType<ReadSettings>(options);
        Assert.Equal((5000, false, false, TimeSpan.FromSeconds(3)), (read.Events, read.Rebuild, read.DaemonRebuild, read.QueryDuration));
        Assert.Equal($"{BenchmarkCommandLine.Run} read --events 5000 --no-rebuild --query-seconds 3", read.CommandLine);
    }

    [Fact]
    public async Task The_alerts_options_read_numbers_and_thresholds_in_the_invariant_culture()
    {
        var (_, options, _, _) = await InvokeAsync(["alerts", "--runs", "4", "--drop", "0.1", "--naive-thresholds", "0.25,0.5"]);

        var alerts = Assert.IsType<AlertEvaluationOptions>(options);
        Assert.Equal((4, 0.1), (alerts.Runs, alerts.Drop));
        Assert.Equal([0.25, 0.5], alerts.NaiveThresholds);
        Assert.Equal(new Alerting.RegressionDetectorOptions().Threshold, alerts.Threshold);
    }

    public static TheoryData<string, string> DocumentedCommandLines()
    {
        var data = new TheoryData<string, string>();
        var root = RepositoryRoot.Find();
        foreach (var file in new[] { "docs/performance.md", "docs/alerts.md", "docs/console.md", "docs/operations.md", "README.md" })
        {
            foreach (var line in File.ReadLines(Path.Combine(root, file)))
            {
                if (BenchmarkRun().Match(line) is { Success: true } run)
                {
                    data.Add(file, run.Groups["args"].Value.Trim());
                }
                else if (ScaleOutScript().Match(line) is { Success: true } script)
                {
                    data.Add(file, ("scale-out " + script.Groups["args"].Value).Trim());
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DocumentedCommandLines))]
    public async Task Every_command_line_the_docs_show_parses(string file, string commandLine)
    {
        var (exitCode, options, _, error) = await InvokeAsync(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.True(exitCode == 0 && options is not null, $"{file}: '{commandLine}' does not parse: {error}");
    }

    [Fact]
    public void The_docs_show_a_command_line_of_every_mode()
    {
        var modes = DocumentedCommandLines().Select(row => (string)row[1]).Select(line => line.Split(' ')[0]).ToHashSet();

        Assert.Contains("--events", modes); // the ingest benchmark, without a subcommand
        Assert.Superset(new HashSet<string> { "read", "triage", "alerts", "console", "scale-out" }, modes);
    }

    private static async Task<(int ExitCode, IBenchmarkOptions? Options, string Output, string Error)> InvokeAsync(string[] args)
    {
        IBenchmarkOptions? bound = null;
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await BenchmarkCommandLine.InvokeAsync(args, (options, _) =>
        {
            bound = options;
            return Task.FromResult(0);
        }, output, error);
        return (exitCode, bound, output.ToString(), error.ToString());
    }

    /// <summary>A documented run of the benchmarks; its arguments end at the line's end, a backtick or a comment.</summary>
    [GeneratedRegex(@"dotnet run -c Release --project src/Analytics\.Benchmarks --(?<args>[^`#]*)")]
    private static partial Regex BenchmarkRun();

    [GeneratedRegex(@"^infra/scripts/scale-out\.sh(?<args>[^`#]*)")]
    private static partial Regex ScaleOutScript();
}
