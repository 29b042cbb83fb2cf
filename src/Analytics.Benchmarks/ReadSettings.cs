using System.Globalization;

namespace Analytics.Benchmarks;

/// <summary>Command-line options of the read-side benchmark (<c>read</c> subcommand).</summary>
public sealed record ReadSettings
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

    public const string Usage = """
        Usage: dotnet run -c Release --project src/Analytics.Benchmarks -- read [options]
          --events N            events seeded into the event store (default 1000000)
          --seed S              traffic model seed (default 42)
          --days D              virtual days the seeded events span, ending now (default 30)
          --clients C           concurrent clients in the query scenarios (default 8)
          --query-seconds T     seconds per query scenario (default 20)
          --lag-rate R          events/s published in the projection-lag scenario (default 5000)
          --lag-seconds T       seconds of publishing in the projection-lag scenario (default 30)
          --no-build            do not build the API and the worker in Release first
          --no-queries          skip the query-latency scenarios
          --no-lag              skip the projection-lag scenario
          --markdown            also print the results as a Markdown table
          --database NAME       use and keep this database (created when missing, seeded only when it holds
                                fewer than --events events), to re-run on one seeded store
          --no-daemon-rebuild   skip the timing of Marten's daemon rebuild
          --no-rebuild          no rebuild at all (with --database whose projection is up to date)
        """;

    public static ReadSettings? Parse(IReadOnlyList<string> args)
    {
        var settings = new ReadSettings();
        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--events":
                    settings = settings with { Events = Int() };
                    break;
                case "--seed":
                    settings = settings with { Seed = Int() };
                    break;
                case "--days":
                    settings = settings with { Days = Int() };
                    break;
                case "--clients":
                    settings = settings with { Clients = Int() };
                    break;
                case "--query-seconds":
                    settings = settings with { QueryDuration = TimeSpan.FromSeconds(Int()) };
                    break;
                case "--lag-rate":
                    settings = settings with { LagRate = Int() };
                    break;
                case "--lag-seconds":
                    settings = settings with { LagDuration = TimeSpan.FromSeconds(Int()) };
                    break;
                case "--no-build":
                    settings = settings with { Build = false };
                    break;
                case "--no-queries":
                    settings = settings with { Queries = false };
                    break;
                case "--no-lag":
                    settings = settings with { Lag = false };
                    break;
                case "--markdown":
                    settings = settings with { Markdown = true };
                    break;
                case "--database":
                    settings = settings with { Database = Next() };
                    break;
                case "--no-rebuild":
                    settings = settings with { Rebuild = false, DaemonRebuild = false };
                    break;
                case "--no-daemon-rebuild":
                    settings = settings with { DaemonRebuild = false };
                    break;
                case "-h" or "--help":
                    return null;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        if (settings.Events < 1000 || settings.Days is < 1 or > 365 || settings.Clients < 1 || settings.LagRate < 100
            || settings.QueryDuration <= TimeSpan.Zero || settings.LagDuration <= TimeSpan.Zero)
        {
            throw new ArgumentException("--events must be at least 1000, --days between 1 and 365, --clients at least 1, --lag-rate at least 100");
        }

        return settings;
    }
}
