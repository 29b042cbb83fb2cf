using Analytics.Alerting;

namespace Analytics.Benchmarks;

/// <summary>The options of one benchmark mode, bound from its subcommand by <see cref="BenchmarkCommandLine"/>.</summary>
public interface IBenchmarkOptions;

/// <summary>Options of the triage benchmark (<c>triage</c>).</summary>
public sealed record TriageBenchmarkOptions : IBenchmarkOptions
{
    /// <summary>Items for the throughput part.</summary>
    public int Items { get; init; } = 3000;

    /// <summary>Thumbs-down per second for the delay part.</summary>
    public int Rate { get; init; } = 50;

    /// <summary>Length of the steady phase of the delay part.</summary>
    public TimeSpan Steady { get; init; } = TimeSpan.FromSeconds(60);

    public bool Delay { get; init; } = true;

    public bool Throughput { get; init; } = true;

    public bool Build { get; init; } = true;

    /// <summary>Also print the figures and the target as Markdown.</summary>
    public bool Markdown { get; init; }

    /// <summary>The command line as given, for the Markdown output.</summary>
    public string CommandLine { get; init; } = "triage";
}

/// <summary>Options of the regression alert evaluation (<c>alerts</c>); the detector's defaults are the worker's.</summary>
public sealed record AlertEvaluationOptions : IBenchmarkOptions
{
    private static readonly RegressionDetectorOptions Defaults = new();

    public int Runs { get; init; } = 40;

    public double ConversationsPerMinute { get; init; } = 600;

    public double WarmupHours { get; init; } = 4;

    public double HoursAfter { get; init; } = 4;

    public double Drop { get; init; } = 0.08;

    public double Shift { get; init; } = Defaults.Shift;

    public double Margin { get; init; } = Defaults.BaselineMargin;

    public double Threshold { get; init; } = Defaults.Threshold;

    public double RecoveryThreshold { get; init; } = Defaults.RecoveryThreshold;

    public long MinBaseline { get; init; } = Defaults.MinimumBaselineRatings;

    public long MinWindow { get; init; } = Defaults.MinimumWindowRatings;

    public IReadOnlyList<double> NaiveThresholds { get; init; } = [0.3, 0.4, 0.5, 0.55, 0.6, 0.7];

    public long NaiveMinRatings { get; init; } = 30;

    public bool Markdown { get; init; }
}

/// <summary>Options of the scale-out run (<c>scale-out</c>, infra/scripts/scale-out.sh).</summary>
public sealed record ScaleOutOptions : IBenchmarkOptions
{
    public int Conversations { get; init; } = 3000;

    /// <summary>Conversations per second.</summary>
    public int Rate { get; init; } = 150;

    /// <summary>Where the hosts' logs go; null: .local/scale-out under the repository.</summary>
    public string? Logs { get; init; }

    /// <summary>Also print the figures and the audit as Markdown.</summary>
    public bool Markdown { get; init; }

    /// <summary>The command line as given, for the Markdown output.</summary>
    public string CommandLine { get; init; } = "scale-out";
}

/// <summary>Options of the console load times (<c>console</c>): the API of a platform that is already running.</summary>
public sealed record ConsoleLoadOptions(Uri Api) : IBenchmarkOptions
{
    public static readonly string[] Windows = ["24h", "7d", "30d", "90d"];

    public string Key { get; init; } = "local-dev-viewer-key";

    /// <summary>A console window name: 24h, 7d, 30d or 90d.</summary>
    public string Window { get; init; } = "30d";

    /// <summary>Timed loads per page.</summary>
    public int Loads { get; init; } = 20;
}
