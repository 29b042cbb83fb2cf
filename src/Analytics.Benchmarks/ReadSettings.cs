namespace Analytics.Benchmarks;

/// <summary>Options of the read-side benchmark (<c>read</c> subcommand, bound in <see cref="BenchmarkCommandLine"/>).</summary>
public sealed record ReadSettings : IBenchmarkOptions
{
    public int Events { get; init; } = 1_000_000;

    public int Seed { get; init; } = 42;

    /// <summary>Virtual days the seeded events span (ending now).</summary>
    public int Days { get; init; } = 30;

    public int Clients { get; init; } = 8;

    public TimeSpan QueryDuration { get; init; } = TimeSpan.FromSeconds(20);

    public int LagRate { get; init; } = 5_000;

    public TimeSpan LagDuration { get; init; } = TimeSpan.FromSeconds(30);

    public bool Build { get; init; } = true;

    public bool Queries { get; init; } = true;

    public bool Lag { get; init; } = true;

    public bool Markdown { get; init; }

    /// <summary>A database to use and keep (created when missing; seeded only when it holds fewer events than asked for).</summary>
    public string? Database { get; init; }

    /// <summary>Also time Marten's daemon rebuild (RebuildProjectionAsync) beside the rebuild command's.</summary>
    public bool DaemonRebuild { get; init; } = true;

    /// <summary>Rebuild at all (off: a kept database whose projection is already up to date, to measure queries or lag again).</summary>
    public bool Rebuild { get; init; } = true;

    /// <summary>The command line as given, for the Markdown output.</summary>
    public string CommandLine { get; init; } = "read";
}
