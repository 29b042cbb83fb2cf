using System.Globalization;

namespace Analytics.Benchmarks;

/// <summary>
/// CPU time of the processes that share the box, read from /proc: the worker, the broker (beam.smp),
/// PostgreSQL (every postgres process) and this benchmark (the publisher). A snapshot before and after a
/// scenario gives each one's average CPU over it (100% = one core).
/// </summary>
public sealed record CpuSnapshot(double Worker, double Broker, double Postgres, double Benchmark, long Timestamp)
{
    private static readonly double TicksPerSecond = 100.0; // USER_HZ on Linux

    public static CpuSnapshot Take(int? workerPid)
    {
        double worker = 0, broker = 0, postgres = 0, bench = 0;
        var self = Environment.ProcessId;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < 0)
            {
                continue;
            }

            var name = stat[(open + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');
            // fields[0] is state (field 3); utime is field 14, stime field 15 → indexes 11 and 12.
            var seconds = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            if (pid == workerPid)
            {
                worker += seconds;
            }
            else if (pid == self)
            {
                bench += seconds;
            }
            else if (name.StartsWith("beam", StringComparison.Ordinal))
            {
                broker += seconds;
            }
            else if (name.StartsWith("postgres", StringComparison.Ordinal))
            {
                postgres += seconds;
            }
        }

        return new CpuSnapshot(worker, broker, postgres, bench, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    public CpuUse Since(CpuSnapshot before)
    {
        var wall = System.Diagnostics.Stopwatch.GetElapsedTime(before.Timestamp, Timestamp).TotalSeconds;
        double Percent(double now, double then) => wall > 0 ? Math.Max(0, now - then) / wall * 100 : 0;
        return new CpuUse(Percent(Worker, before.Worker), Percent(Broker, before.Broker), Percent(Postgres, before.Postgres),
            Percent(Benchmark, before.Benchmark))
        { WallSeconds = wall };
    }
}

/// <summary>Average CPU over a scenario, in percent of one core (the box has <see cref="Environment.ProcessorCount"/>).</summary>
public sealed record CpuUse(double Worker, double Broker, double Postgres, double Benchmark)
{
    /// <summary>The wall-clock time the percentages are of.</summary>
    public double WallSeconds { get; init; }

    /// <summary>
    /// CPU time per event of each process, in µs: the figure that survives a loaded machine, where events/s do not
    /// (docs/performance.md, "Ingest"). Without a worker (the baselines, whose consumer runs in this process) that column is a dash.
    /// </summary>
    public string MicrosecondsPerEvent(long events, bool withWorker)
    {
        double PerEvent(double percent) => events > 0 ? percent / 100 * WallSeconds / events * 1e6 : 0;
        var total = PerEvent(Broker + Postgres + Benchmark + (withWorker ? Worker : 0));
        var worker = withWorker ? PerEvent(Worker).ToString("0", CultureInfo.InvariantCulture) : "–";
        return string.Create(CultureInfo.InvariantCulture,
            $"wk {worker} / mq {PerEvent(Broker):0} / pg {PerEvent(Postgres):0} / bench {PerEvent(Benchmark):0} = {total:0}");
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"wk {Worker:0}% / mq {Broker:0}% / pg {Postgres:0}% / bench {Benchmark:0}%");
}
