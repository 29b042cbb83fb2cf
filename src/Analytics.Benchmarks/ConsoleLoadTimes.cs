using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Analytics.Benchmarks;

/// <summary>
/// How long each console page takes to draw its data in a real browser (Debian's Chromium driven by Playwright): for every
/// page, <c>loads</c> navigations, each timed from the request of the page until the console marks it drawn
/// (<c>body[data-ready]</c>, set after every section's requests have answered and their tables and charts are drawn).
/// Each load is a new page in one signed-in browser context, so the browser's cache holds the static files as it does
/// for a person moving between pages; the API's answers are never cached by the browser. The goal is p95 &lt; 1 s.
/// </summary>
public static class ConsoleLoadTimes
{
    public const double GoalMilliseconds = 1_000;

    public sealed record PageLoads(string Page, string Path, int Loads, double P50Milliseconds, double P95Milliseconds, double MaxMilliseconds)
    {
        public bool MeetsGoal => P95Milliseconds < GoalMilliseconds;
    }

    /// <summary>
    /// <c>console</c>: times the console of an API that is already running (one started by infra/scripts/run-platform.sh, or
    /// the API of a read benchmark's store) and prints p50/p95/max per page against the goal. Exit code 1 when a page
    /// misses it.
    /// </summary>
    public static async Task<int> RunAsync(ConsoleLoadOptions options, CancellationToken cancellationToken)
    {
        var (api, key, window, loads) = (options.Api, options.Key, options.Window, options.Loads);
        var results = await MeasureAsync(api, key, window, loads, cancellationToken);
        Console.WriteLine($"Console load times ({loads} loads per page, window {window}, {api}): navigation until the page's data is drawn");
        Console.WriteLine();
        var table = new ReportTable(string.Empty, "Page", "Path", "p50", "p95", "max", "goal p95 < 1 s");
        foreach (var r in results)
        {
            table.AddRow(r.Page, $"`{r.Path}`", $"{r.P50Milliseconds:F0} ms", $"{r.P95Milliseconds:F0} ms", $"{r.MaxMilliseconds:F0} ms", r.MeetsGoal ? "met" : "**missed**");
        }

        table.WriteMarkdown(Console.Out);
        return results.All(r => r.MeetsGoal) ? 0 : 1;
    }

    /// <summary>
    /// Times every page over the window <paramref name="window"/> (a console window name: 24h, 7d, 30d, 90d). The model page
    /// opens the first model of /api/models; the conversation page the newest conversation of /api/conversations.
    /// </summary>
    public static async Task<IReadOnlyList<PageLoads>> MeasureAsync(Uri apiBase, string apiKey, string window, int loads, CancellationToken cancellationToken)
    {
        if (!File.Exists(Chromium.Path))
        {
            throw new InvalidOperationException($"No Chromium at {Chromium.Path}: apt-get install -y chromium, or set ANALYTICS_TEST_CHROMIUM.");
        }

        var pages = await PagesAsync(apiBase, apiKey, window, cancellationToken);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium.Path, Headless = true });
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = apiBase.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        // The console keeps its key in sessionStorage (src/Analytics.Console/src/api.ts); every new page of the context starts
        // signed in.
        await context.AddInitScriptAsync($"sessionStorage.setItem('analytics.console.apiKey', {JsonSerializer.Serialize(apiKey)});");

        // One warm-up load of every page before any is timed: the static files reach the browser's cache, and the first
        // page timed does not also pay for the browser's own start (its first tabs are the slowest whatever the page).
        foreach (var (_, path) in pages)
        {
            await LoadAsync(context, path);
        }

        var results = new List<PageLoads>();
        foreach (var (name, path) in pages)
        {
            var times = new List<double>();
            for (var i = 0; i < loads; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                times.Add(await LoadAsync(context, path));
            }

            times.Sort();
            results.Add(new PageLoads(name, path, loads, Percentile(times, 0.50), Percentile(times, 0.95), times[^1]));
        }

        return results;
    }

    private static async Task<double> LoadAsync(IBrowserContext context, string path)
    {
        var page = await context.NewPageAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            await page.GotoAsync(path, new PageGotoOptions { WaitUntil = WaitUntilState.Commit });
            await page.Locator("body[data-ready]").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
            var elapsed = clock.Elapsed.TotalMilliseconds;
            var errors = await page.Locator(".state.error").CountAsync();
            if (errors > 0)
            {
                throw new InvalidOperationException($"{path}: the page drew {errors} error state(s); its figures would not be a load time.");
            }

            return elapsed;
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    private static async Task<IReadOnlyList<(string Name, string Path)>> PagesAsync(Uri apiBase, string apiKey, string window, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = apiBase, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        var models = await http.GetFromJsonAsync<JsonElement>("/api/models", cancellationToken);
        var firstModel = Items(models).Select(m => m.GetProperty("modelId").GetString()).FirstOrDefault();
        var conversations = await http.GetFromJsonAsync<JsonElement>("/api/conversations?limit=1", cancellationToken);
        var newest = Items(conversations).Select(c => c.GetProperty("conversationId").GetString()).FirstOrDefault();

        var pages = new List<(string, string)>
        {
            ("overview", $"/?window={window}"),
            ("model", firstModel is null ? $"/model?window={window}" : $"/model?model={Uri.EscapeDataString(firstModel)}&window={window}"),
            ("comparisons", $"/comparisons?window={window}"),
            ("regressions", $"/regressions?window={window}"),
            ("triage", $"/clusters?window={window}"),
            ("conversations", $"/conversations?window={window}"),
            ("pipeline", "/pipeline"),
        };
        if (newest is not null)
        {
            pages.Add(("conversation", $"/conversations/{newest}"));
        }

        return pages;
    }

    /// <summary>The rows of an answer: a bare array or the envelope's items.</summary>
    private static IEnumerable<JsonElement> Items(JsonElement answer) =>
        answer.ValueKind == JsonValueKind.Array ? answer.EnumerateArray()
        : answer.TryGetProperty("items", out var items) ? items.EnumerateArray()
        : [];

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    private static double Percentile(List<double> sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
}
