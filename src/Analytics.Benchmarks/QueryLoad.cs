using System.Diagnostics;

namespace Analytics.Benchmarks;

/// <summary>Latency figures of one closed-loop load run (every client sends its next request when the last one is answered).</summary>
public sealed record LoadResult(string Name, int Clients, long Requests, long Errors, TimeSpan Elapsed, double P50Ms, double P99Ms, double MaxMs)
{
    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;
}

public static class QueryLoad
{
    /// <summary>
    /// Runs <paramref name="operation"/> in a loop on <paramref name="clients"/> concurrent tasks for
    /// <paramref name="duration"/>; client i gets index i (for its own HttpClient). Failures are counted, not timed.
    /// </summary>
    public static async Task<LoadResult> RunAsync(string name, int clients, TimeSpan duration,
        Func<int, CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        var latencies = new List<double>[clients];
        var errors = new long[clients];
        var firstError = (string?)null;
        var started = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var mine = latencies[client] = new List<double>(4096);
            while (started.Elapsed < duration)
            {
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    await operation(client, cancellationToken);
                    mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    errors[client]++;
                    firstError ??= ex.Message;
                }
            }
        }, cancellationToken)).ToArray();
        await Task.WhenAll(tasks);
        var elapsed = started.Elapsed;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        if (firstError is not null)
        {
            Console.Error.WriteLine($"{name}: {errors.Sum()} failed requests, the first: {firstError}");
        }

        return new LoadResult(name, clients, all.Length, errors.Sum(), elapsed, Percentile(all, 0.50), Percentile(all, 0.99),
            all.Length == 0 ? double.NaN : all[^1]);
    }

    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }
}
