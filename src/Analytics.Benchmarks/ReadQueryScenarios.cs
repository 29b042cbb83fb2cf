using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Analytics.Comparisons;
using Analytics.Satisfaction;
using Npgsql;
using Spectre.Console;

namespace Analytics.Benchmarks;

/// <summary>
/// The query-latency part of the read-side benchmark: the matrix's query plan, then the satisfaction and leaderboard
/// endpoints through the API (a Release host on the seeded store) under <see cref="ReadSettings.Clients"/> clients, beside
/// the same queries straight through Npgsql and the leaderboard's fit in process.
/// </summary>
public sealed class ReadQueryScenarios(ReadSettings settings, string root, Isolation isolation, ReadSeeding seeding, string database,
    DateTimeOffset end, BenchmarkReport report)
{
    private const string ViewerKey = "local-dev-viewer-key";
    private const string OverTimeModel = "atlas";

    private readonly DateTimeOffset _matrixFrom = end.AddDays(-settings.Days);
    private readonly DateTimeOffset _overTimeFrom = end.AddDays(-7);

    private string MatrixPath => $"api/satisfaction/matrix?from={Iso(_matrixFrom)}&to={Iso(end)}";

    private string OverTimePath => $"api/satisfaction/over-time?model={OverTimeModel}&bucket=hour&from={Iso(_overTimeFrom)}&to={Iso(end)}";

    private string ReasonsPath => $"api/satisfaction/reasons?model={OverTimeModel}&from={Iso(_matrixFrom)}&to={Iso(end)}";

    private string LeaderboardPath => $"api/comparisons/leaderboard?from={Iso(_matrixFrom)}&to={Iso(end)}";

    public async Task RunAsync(CancellationToken ct)
    {
        await ExplainMatrixAsync(ct);
        BenchmarkReport.Step("Starting the API (Release) on the bench database");
        var apiLog = Path.Combine(Path.GetTempPath(), $"bench-{isolation.RunId}-api.log");
        await using var api = await ApiProcess.StartAsync(root, isolation.ConnectionString(database, 50), apiLog, ct);
        var clients = Enumerable.Range(0, settings.Clients).Select(_ =>
        {
            var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            http.DefaultRequestHeaders.Add("X-Api-Key", ViewerKey);
            http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            return http;
        }).ToArray();
        try
        {
            async Task Get(int client, string path, CancellationToken token)
            {
                using var response = await clients[client].GetAsync(path, HttpCompletionOption.ResponseContentRead, token);
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(token)}");
                }
            }

            await CheckAndWarmUpAsync(clients[0], Get, ct);
            var apiLoads = await ApiScenariosAsync(api.Pid, Get, ct);
            var npgsqlLoads = await NpgsqlScenariosAsync(api.Pid, ct);
            AddTargets(apiLoads, npgsqlLoads);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));

    private async Task ExplainMatrixAsync(CancellationToken ct)
    {
        var matrixPlan = await seeding.ExplainAsync(SatisfactionQueries.UnslicedMatrixSql,
            SatisfactionQueries.UnslicedMatrixParameters(_matrixFrom, end, null), ct);
        var planPath = Path.Combine(Path.GetTempPath(), $"bench-{isolation.RunId}-matrix-plan.txt");
        await File.WriteAllTextAsync(planPath, matrixPlan, ct);
        var execution = matrixPlan.Split('\n').LastOrDefault(l => l.Contains("Execution Time", StringComparison.Ordinal))?.Trim();
        AnsiConsole.MarkupLine($"  EXPLAIN ANALYZE of the {settings.Days}-day matrix (1 client): {Markup.Escape(execution ?? "?")}; plan in {Markup.Escape(planPath)}");
        report.Code(matrixPlan);
    }

    /// <summary>Sanity check of the matrix's answer, then 3 s per endpoint, untimed.</summary>
    private async Task CheckAndWarmUpAsync(HttpClient client, Func<int, string, CancellationToken, Task> get, CancellationToken ct)
    {
        using (var check = await client.GetAsync(MatrixPath, ct))
        {
            var body = await check.Content.ReadAsStringAsync(ct);
            if (!check.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"matrix: {(int)check.StatusCode} {body}");
            }

            AnsiConsole.MarkupLine($"  matrix answer: {body.Length:N0} bytes, {body.Split("\"capability\"").Length - 1} cells");
        }

        BenchmarkReport.Step("Warm-up (3 s per endpoint, not reported)");
        foreach (var path in new[] { MatrixPath, OverTimePath, ReasonsPath, LeaderboardPath })
        {
            await QueryLoad.RunAsync("warm-up", settings.Clients, TimeSpan.FromSeconds(3), (c, t) => get(c, path, t), ct);
        }
    }

    /// <summary>One timed scenario: <see cref="ReadSettings.Clients"/> clients for <see cref="ReadSettings.QueryDuration"/>, with the CPU of PostgreSQL and the API.</summary>
    private async Task<LoadResult> LoadAsync(string name, int apiPid, Func<int, CancellationToken, Task> operation, CancellationToken ct)
    {
        BenchmarkReport.Step($"{name}: {settings.Clients} clients for {settings.QueryDuration.TotalSeconds:0} s");
        var cpuBefore = CpuSnapshot.Take(apiPid);
        var result = await QueryLoad.RunAsync(name, settings.Clients, settings.QueryDuration, operation, ct);
        var cpu = CpuSnapshot.Take(apiPid).Since(cpuBefore);
        report.Figure(name, FormattableString.Invariant(
            $"p50 {result.P50Ms:N1} ms, p99 {result.P99Ms:N1} ms, max {result.MaxMs:N0} ms, {result.RequestsPerSecond:N1} req/s ({result.Requests:N0} requests, {result.Errors} errors; CPU: PostgreSQL {cpu.Postgres:0}%, API {cpu.Worker:0}%)"));
        if (result.Errors > 0)
        {
            report.Fail($"{name}: {result.Errors} failed requests");
        }

        return result;
    }

    private sealed record ApiLoads(LoadResult Matrix, LoadResult OverTime, LoadResult Reasons, LoadResult Leaderboard, LoadResult LeaderboardFitted);

    private sealed record NpgsqlLoads(LoadResult Matrix, LoadResult OverTime, LoadResult Reasons, LoadResult Pairs);

    private async Task<ApiLoads> ApiScenariosAsync(int apiPid, Func<int, string, CancellationToken, Task> get, CancellationToken ct)
    {
        var matrix = await LoadAsync($"API matrix, {settings.Days} days", apiPid, (c, t) => get(c, MatrixPath, t), ct);
        var overTime = await LoadAsync($"API over-time {OverTimeModel}, hourly, 7 days", apiPid, (c, t) => get(c, OverTimePath, t), ct);
        var reasons = await LoadAsync($"API reasons {OverTimeModel}, {settings.Days} days", apiPid, (c, t) => get(c, ReasonsPath, t), ct);
        var leaderboard = await LoadAsync($"API leaderboard, {settings.Days} days, 200 bootstrap rounds, one window (cached per projection position)",
            apiPid, (c, t) => get(c, LeaderboardPath, t), ct);

        // Every request a window the cache has not seen: the window ends k hours earlier, k cycling through more
        // windows than the cache holds, so each answer is fitted and bootstrapped again.
        var shifted = 0;
        var windows = LeaderboardCache.Capacity + 44;
        var fitted = await LoadAsync($"API leaderboard, {settings.Days} days, 200 bootstrap rounds, a new window per request (fitted every time)", apiPid,
            (c, t) =>
            {
                var k = Interlocked.Increment(ref shifted) % windows;
                return get(c, $"api/comparisons/leaderboard?from={Iso(_matrixFrom.AddHours(-k))}&to={Iso(end.AddHours(-k))}", t);
            }, ct);
        return new ApiLoads(matrix, overTime, reasons, leaderboard, fitted);
    }

    /// <summary>The same queries straight through Npgsql (the baseline), and the leaderboard's fit in this process.</summary>
    private async Task<NpgsqlLoads> NpgsqlScenariosAsync(int apiPid, CancellationToken ct)
    {
        await using var direct = NpgsqlDataSource.Create(isolation.ConnectionString(database, settings.Clients + 2));
        var queries = new SatisfactionQueries(direct);
        await queries.MatrixAsync(_matrixFrom, end, null, new SliceFilter(), ct);
        var matrix = await LoadAsync($"Npgsql matrix, {settings.Days} days (baseline)", apiPid,
            (_, t) => queries.MatrixAsync(_matrixFrom, end, null, new SliceFilter(), t), ct);
        var overTime = await LoadAsync($"Npgsql over-time {OverTimeModel}, hourly, 7 days (baseline)", apiPid,
            (_, t) => queries.OverTimeAsync(OverTimeModel, null, null, _overTimeFrom, end, "hour", new SliceFilter(), t), ct);
        var reasons = await LoadAsync($"Npgsql reasons {OverTimeModel}, {settings.Days} days (baseline)", apiPid,
            (_, t) => queries.ReasonsAsync(OverTimeModel, null, null, _matrixFrom, end, t), ct);
        var comparisons = new ComparisonQueries(direct);
        var pairs = await LoadAsync($"Npgsql pair counts, {settings.Days} days (baseline: the leaderboard's SQL)", apiPid,
            (_, t) => comparisons.PairsAsync(null, _matrixFrom, end, t), ct);
        LeaderboardFit(await comparisons.PairsAsync(null, _matrixFrom, end, ct));
        return new NpgsqlLoads(matrix, overTime, reasons, pairs);
    }

    private void LeaderboardFit(IReadOnlyList<PairOutcome> windowPairs)
    {
        var fits = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var fit = Stopwatch.StartNew();
            BradleyTerry.Leaderboard(windowPairs, 200, seed: i + 1);
            fits.Add(fit.Elapsed.TotalMilliseconds);
        }

        fits.Sort();
        var windowModels = windowPairs.SelectMany(p => new[] { p.ModelA, p.ModelB }).Distinct().Count();
        report.Figure("Leaderboard fit + 200 Poisson bootstrap rounds in process (1 thread, median of 5)", FormattableString.Invariant(
            $"{fits[2]:N1} ms: {windowModels} models, {windowPairs.Count} pairs, {windowPairs.Sum(p => p.Total):N0} comparisons in {settings.Days} days"));
    }

    private void AddTargets(ApiLoads api, NpgsqlLoads npgsql)
    {
        report.Target($"API matrix p99 < 100 ms with {settings.Clients} clients",
            FormattableString.Invariant($"{api.Matrix.P99Ms:N0} ms (Npgsql alone: {npgsql.Matrix.P99Ms:N0} ms)"), api.Matrix.P99Ms < 100);
        report.Target($"API over-time p99 (no target; beside Npgsql)",
            FormattableString.Invariant($"{api.OverTime.P99Ms:N0} ms (Npgsql alone: {npgsql.OverTime.P99Ms:N0} ms)"), null);
        report.Target($"API reasons p99 (no target; beside Npgsql)",
            FormattableString.Invariant($"{api.Reasons.P99Ms:N0} ms (Npgsql alone: {npgsql.Reasons.P99Ms:N0} ms)"), null);
        report.Target($"API leaderboard p99 < 150 ms with {settings.Clients} clients, fitted every time",
            FormattableString.Invariant($"{api.LeaderboardFitted.P99Ms:N0} ms (pair counts through Npgsql: {npgsql.Pairs.P99Ms:N0} ms)"), api.LeaderboardFitted.P99Ms < 150);
        report.Target($"API leaderboard p99, one window (no target; cached per projection position)",
            FormattableString.Invariant($"{api.Leaderboard.P99Ms:N0} ms"), null);
    }
}
