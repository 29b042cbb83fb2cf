using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Simulator;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Analytics.IntegrationTests;

/// <summary>
/// A platform seeded with known traffic for the console: simulated conversations in which atlas 2026-11 loses half its
/// satisfaction on browsing (so the detector raises an alert and the heatmap marks the cell), and thumbs-down items
/// that the clusterer groups. The API runs on a local port; Debian's Chromium is driven by Playwright.
/// </summary>
public sealed class ConsolePlatformFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    public const string From = "2026-10-25T00:00:00.000Z";
    public const string To = "2026-11-24T00:00:00.000Z";
    public const string ClusterModel = "console-model";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(240);

    public TestPlatform Platform { get; private set; } = null!;

    public WorkerProcess Worker { get; private set; } = null!;

    public WebApplicationFactory<Program> Api { get; private set; } = null!;

    public string BaseUrl { get; private set; } = null!;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public HttpClient Viewer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium.Path), $"No Chromium at {Chromium.Path}: apt-get install -y chromium (infra/scripts/run-tests.sh does it).");
        Platform = await TestPlatform.CreateAsync();
        Worker = await Platform.StartWorkerAsync(new Dictionary<string, string>
        {
            ["Alerts__IntervalSeconds"] = "1",
            ["Alerts__Detector__MinimumBaselineRatings"] = "50",
            ["Alerts__Detector__MinimumWindowRatings"] = "20",
            ["Alerts__Detector__Shift"] = "0.1",
            ["Alerts__Detector__MaximumDispersion"] = "1",
        });

        // The detector's first look only learns where the counters stand (RegressionDetector.Look): the regressed traffic
        // must arrive after it. So a first part (the triage items and some traffic) is projected before the rest is sent.
        var traffic = new TrafficModel(new TrafficOptions
        {
            Seed = 7,
            Start = Start,
            VersionsShareRates = true,
            RatingProbability = 1,
            RatingWithdrawProbability = 0,
            RatingFlipProbability = 0,
            InjectRegression = new RegressionInjection("atlas", "browsing", 0.5) { ModelVersion = "2026-11" },
        }).Generate().Take(15_000).ToList();
        // The triage items lie inside the traffic's hours: the regression watch reads the trailing window that ends at the
        // latest hour with data (RegressionWatch), and thumbs-downs without responses count in the views at their own hour.
        await TriageFeedback.PublishAsync(Platform, TriageFeedback.ThumbsDown(ClusterModel, [.. TriageFeedback.EmptyPlot, .. TriageFeedback.UploadFails], Start.AddHours(1)));
        await TriageFeedback.PublishAsync(Platform, traffic.Take(3_000));
        await TestEnvironment.WaitUntilAsync(async () => await Platform.StoredEventCountAsync() >= 3_000 + (3 * 12) && await Platform.ProjectionCaughtUpAsync(),
            Timeout, async () => $"stored {await Platform.StoredEventCountAsync()}\n{Worker.Output}");
        await TriageFeedback.PublishAsync(Platform, traffic.Skip(3_000));
        var expected = traffic.Count + (3 * 12);
        await TestEnvironment.WaitUntilAsync(async () => await Platform.StoredEventCountAsync() >= expected && await Platform.ProjectionCaughtUpAsync()
                && await TriageFeedback.ClusteredCountAsync(Platform, ClusterModel) >= 12
                && await Platform.ScalarAsync<long>("select count(*) from analytics.alerts where state = 'active'") > 0,
            Timeout, async () => $"stored {await Platform.StoredEventCountAsync()} of {expected}, caught up {await Platform.ProjectionCaughtUpAsync()}, "
                + $"clustered {await TriageFeedback.ClusteredCountAsync(Platform, ClusterModel)}, alerts by state: "
                + $"{await Platform.ScalarAsync<string>("select coalesce(string_agg(model_id || '@' || model_version || ' ' || capability || ' ' || state, '; '), 'none') from analytics.alerts")}\n{Worker.Output}");

        // Port 0: Kestrel binds a free port itself (no open-then-close race); the bound address is read back below.
        Api = new WebApplicationFactory<Program>().WithWebHostBuilder(host => ApiClients.UsePlatform(host, Platform)
            .UseSetting("Urls", "http://127.0.0.1:0")
            .UseSetting("Pipeline:MetricsUrls:0", $"http://127.0.0.1:{Worker.Port}/metrics")
            .UseSetting("Pipeline:MetricsUrls:1", $"http://{TestEnvironment.RabbitHost}:{Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_PROMETHEUS_PORT") ?? "15692"}/metrics/detailed?vhost={Platform.Name}&family=queue_coarse_metrics")
            .UseSetting("Pipeline:MetricsUrls:2", "")
            .UseSetting("RequestLimits:PermitsPerWindow", "100000"));
        Api.UseKestrel();
        Api.StartServer();
        BaseUrl = Api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Single().Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        Assert.DoesNotMatch(":0$", BaseUrl);
        Viewer = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        Viewer.DefaultRequestHeaders.Add("X-Api-Key", "local-dev-viewer-key");

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium.Path, Headless = true });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        Viewer.Dispose();
        await Api.DisposeAsync();
        await Platform.DisposeAsync();
    }
}

/// <summary>
/// Every console page against the seeded platform: the numbers it shows are the API's, drill-down reaches the
/// conversations behind a count, actions are there for a triager and absent for a viewer, and no page logs a console
/// error, loses a request or has a serious or critical axe-core violation. Each page's screenshot is saved with the
/// test results (bin/.../screenshots/console-*.png).
/// </summary>
public sealed partial class ConsolePageTests(ConsolePlatformFixture fixture) : IClassFixture<ConsolePlatformFixture>
{
    private const string Window = $"from={ConsolePlatformFixture.From}&to={ConsolePlatformFixture.To}";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A signed-in page that records console errors and failed requests.</summary>
    private sealed class Session(IBrowserContext context, IPage page) : IAsyncDisposable
    {
        public IPage Page { get; } = page;

        public List<string> Problems { get; } = [];

        public async ValueTask DisposeAsync() => await context.DisposeAsync();

        public async Task GoAsync(string url)
        {
            await Page.GotoAsync(url);
            await Expect(Page.Locator("body")).ToHaveAttributeAsync("data-ready", new Regex(".+"), new() { Timeout = 30_000 });
        }

        public async Task ClickAndWaitAsync(ILocator locator)
        {
            await Page.EvaluateAsync("() => delete document.body.dataset.ready");
            await locator.ClickAsync();
            await Expect(Page.Locator("body")).ToHaveAttributeAsync("data-ready", new Regex(".+"), new() { Timeout = 30_000 });
        }
    }

    private async Task<Session> SignInAsync(string key, string url)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.BaseUrl,
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            TimezoneId = "Europe/Berlin",
            Locale = "en-GB",
        });
        var page = await context.NewPageAsync();
        var session = new Session(context, page);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                session.Problems.Add($"console: {message.Text}");
            }
        };
        page.PageError += (_, error) => session.Problems.Add($"page error: {error}");
        page.RequestFailed += (_, request) => session.Problems.Add($"failed: {request.Url} {request.Failure}");
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                session.Problems.Add($"HTTP {response.Status}: {response.Url}");
            }
        };
        await page.GotoAsync(url);
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#role")).ToContainTextAsync(key.Contains("triager", StringComparison.Ordinal) ? "triager" : "viewer");
        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-ready", new Regex(".+"), new() { Timeout = 30_000 });
        return session;
    }

    private async Task<JsonElement> GetAsync(string url) => await fixture.Viewer.GetFromJsonAsync<JsonElement>(url, Json);

    /// <summary>The rows of an aggregate answer: its envelope's items (docs/api.md).</summary>
    private async Task<JsonElement> ItemsAsync(string url) => (await GetAsync(url)).GetProperty("items");

    private static void NoProblems(Session session) => Assert.True(session.Problems.Count == 0, string.Join("\n", session.Problems));

    private static double Percent(string text) =>
        double.Parse(Regex.Match(text, @"-?\d+(\.\d+)?").Value, CultureInfo.InvariantCulture) / 100;

    private static long Count(string text) =>
        long.Parse(Regex.Replace(Regex.Match(text, @"\d[\d,]*").Value, ",", string.Empty), CultureInfo.InvariantCulture);

    private static async Task ScreenshotAsync(IPage page, string name)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"console-{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        Assert.True(new FileInfo(file).Length > 10_000, $"screenshot {name} is empty");
    }

    [Fact]
    public async Task The_overview_shows_the_matrix_of_the_API_and_marks_the_regressed_cell_below_its_predecessor()
    {
        await using var session = await SignInAsync("local-dev-viewer-key", $"/overview?{Window}");
        var matrix = await ItemsAsync($"/api/satisfaction/matrix?{Window}");
        Assert.True(matrix.GetArrayLength() > 10, "too little seeded traffic");
        foreach (var cell in matrix.EnumerateArray())
        {
            var selector = $"#heatmap td[data-model=\"{cell.GetProperty("modelId").GetString()}\"][data-version=\"{cell.GetProperty("version").GetString()}\"][data-capability=\"{cell.GetProperty("capability").GetString()}\"]";
            var td = session.Page.Locator(selector);
            var satisfaction = cell.GetProperty("satisfaction");
            if (satisfaction.GetProperty("rate").ValueKind == JsonValueKind.Number)
            {
                Assert.Equal(satisfaction.GetProperty("rate").GetDouble(), Percent(await td.Locator("a.sat").InnerTextAsync()), 3);
            }

            Assert.Equal(cell.GetProperty("rated").GetInt64(), Count(await td.Locator("a.count").InnerTextAsync()));
        }

        // atlas 2026-11 on browsing lost half its satisfaction: its interval lies below 2026-10's, and the cell is marked.
        var regressed = session.Page.Locator("#heatmap td[data-model=\"atlas\"][data-version=\"2026-11\"][data-capability=\"browsing\"]");
        await Expect(regressed).ToHaveClassAsync(new Regex("worse"));
        await Expect(session.Page.Locator("#families tr[data-model=\"atlas\"] td.worse-on")).ToContainTextAsync("browsing");
        await ScreenshotAsync(session.Page, "overview");
        NoProblems(session);
    }

    [Fact]
    public async Task A_count_in_a_matrix_cell_opens_the_conversations_of_that_cell_and_one_of_them_as_a_timeline()
    {
        await using var session = await SignInAsync("local-dev-viewer-key", $"/overview?{Window}");
        var cell = session.Page.Locator("#heatmap td[data-model=\"atlas\"][data-version=\"2026-11\"][data-capability=\"browsing\"]");
        await session.ClickAndWaitAsync(cell.Locator("a.count"));
        await Expect(session.Page).ToHaveURLAsync(new Regex("/conversations\\?.*model=atlas.*version=2026-11.*capability=browsing"));
        var rows = session.Page.Locator("#conversations tbody tr");
        Assert.True(await rows.CountAsync() > 0);
        await ScreenshotAsync(session.Page, "drill-down");
        for (var i = 0; i < await rows.CountAsync(); i++)
        {
            await Expect(rows.Nth(i).Locator("td").Nth(1)).ToHaveTextAsync("atlas@2026-11");
            await Expect(rows.Nth(i).Locator("td").Nth(2)).ToContainTextAsync("browsing");
        }

        var conversationId = await rows.First.GetAttributeAsync("data-conversation");
        await session.ClickAndWaitAsync(rows.First.Locator("a"));
        await Expect(session.Page).ToHaveURLAsync(new Regex($"/conversations/{conversationId}$"));
        var conversation = await GetAsync($"/api/conversations/{conversationId}");
        Assert.Contains(conversation.GetProperty("turns").EnumerateArray(), t => t.GetProperty("modelVersion").GetString() == "2026-11"
            && t.GetProperty("capabilities").EnumerateArray().Any(c => c.GetString() == "browsing"));
        var events = await GetAsync($"/api/conversations/{conversationId}/events");
        await Expect(session.Page.Locator("#timeline > li")).ToHaveCountAsync(events.GetArrayLength());
        await Expect(session.Page.Locator("#timeline")).ToContainTextAsync("atlas@2026-11");
        await ScreenshotAsync(session.Page, "conversation");
        NoProblems(session);
    }

    [Fact]
    public async Task The_model_version_page_shows_the_series_totals_and_reasons_of_the_API_for_two_versions_side_by_side()
    {
        await using var session = await SignInAsync("local-dev-viewer-key", $"/model?model=atlas&version=2026-11&compare=2026-10&capability=browsing&bucket=hour&{Window}");
        foreach (var version in new[] { "2026-11", "2026-10" })
        {
            var points = await ItemsAsync($"/api/satisfaction/over-time?model=atlas&version={version}&capability=browsing&bucket=hour&{Window}");
            var rated = points.EnumerateArray().Sum(p => p.GetProperty("rated").GetInt64());
            var responses = points.EnumerateArray().Sum(p => p.GetProperty("responses").GetInt64());
            await Expect(session.Page.Locator("#series-totals")).ToContainTextAsync(
                $"atlas@{version}: {rated.ToString("N0", CultureInfo.InvariantCulture)} ratings of {responses.ToString("N0", CultureInfo.InvariantCulture)} responses");

            var reasons = await ItemsAsync($"/api/satisfaction/reasons?model=atlas&version={version}&capability=browsing&{Window}");
            var column = session.Page.Locator($"section[aria-label=\"atlas@{version}\"]");
            foreach (var reason in reasons.EnumerateArray().Take(10))
            {
                var row = column.Locator("table.reasons tbody tr").Filter(new() { Has = session.Page.Locator($"th:text-is(\"{reason.GetProperty("reason").GetString()}\")") });
                Assert.Equal(reason.GetProperty("count").GetInt64(), Count(await row.Locator("td").First.InnerTextAsync()));
            }
        }

        Assert.Equal(2, await session.Page.Locator("figure.chart .uplot").CountAsync());
        await ScreenshotAsync(session.Page, "model-version");
        NoProblems(session);
    }

    [Fact]
    public async Task The_comparisons_page_shows_the_leaderboard_and_head_to_head_counts_of_the_API_and_opens_a_pairs_comparisons()
    {
        await using var session = await SignInAsync("local-dev-viewer-key", $"/comparisons?{Window}");
        var board = await GetAsync($"/api/comparisons/leaderboard?{Window}");
        Assert.True(board.GetProperty("items").GetArrayLength() >= 2);
        foreach (var model in board.GetProperty("items").EnumerateArray())
        {
            var row = session.Page.Locator($"#leaderboard tr[data-model=\"{model.GetProperty("model").GetString()}\"]");
            await Expect(row.Locator("td.rank")).ToHaveTextAsync(model.GetProperty("rank").GetInt32().ToString(CultureInfo.InvariantCulture));
            Assert.Equal(model.GetProperty("comparisons").GetInt64(), Count(await row.Locator("td.comparisons").InnerTextAsync()));
        }

        var pairs = await ItemsAsync($"/api/comparisons/head-to-head?{Window}");
        foreach (var pair in pairs.EnumerateArray())
        {
            var cell = session.Page.Locator($"#head-to-head td[data-row=\"{pair.GetProperty("modelA").GetString()}\"][data-col=\"{pair.GetProperty("modelB").GetString()}\"]");
            Assert.Equal(pair.GetProperty("aWinShare").GetProperty("trials").GetInt64(), Count(await cell.Locator("a.count").InnerTextAsync()));
        }

        await ScreenshotAsync(session.Page, "comparisons");
        var busiest = pairs.EnumerateArray().MaxBy(p => p.GetProperty("aWinShare").GetProperty("trials").GetInt64());
        var (a, b) = (busiest.GetProperty("modelA").GetString()!, busiest.GetProperty("modelB").GetString()!);
        await session.ClickAndWaitAsync(session.Page.Locator($"#head-to-head td[data-row=\"{a}\"][data-col=\"{b}\"] a.count"));
        var rows = session.Page.Locator("#conversations tbody tr");
        Assert.True(await rows.CountAsync() > 0);
        await Expect(rows.First.Locator("td.comment")).ToContainTextAsync(a);
        await Expect(rows.First.Locator("td.comment")).ToContainTextAsync(b);
        NoProblems(session);
    }

    [Fact]
    public async Task A_triager_acknowledges_the_alert_on_the_regressions_page_and_a_viewer_sees_no_button()
    {
        var alerts = await GetAsync("/api/alerts?state=active&model=atlas&capability=browsing");
        var alert = alerts.EnumerateArray().First(a => a.GetProperty("modelVersion").GetString() == "2026-11");
        var id = alert.GetProperty("alertId").GetString();

        await using (var viewer = await SignInAsync("local-dev-viewer-key", $"/regressions?state=all&alert={id}"))
        {
            await Expect(viewer.Page.Locator($"#alerts tr[data-alert=\"{id}\"]")).ToBeVisibleAsync();
            await Expect(viewer.Page.Locator("#alert-detail article")).ToBeVisibleAsync();
            await Expect(viewer.Page.Locator("#acknowledge")).ToHaveCountAsync(0);
            NoProblems(viewer);
        }

        await using var triager = await SignInAsync("local-dev-triager-key", $"/regressions?state=active&alert={id}");
        var row = triager.Page.Locator($"#alerts tr[data-alert=\"{id}\"]");
        var evidence = alert.GetProperty("evidence");
        Assert.Equal(evidence.GetProperty("windowDownRate").GetDouble(), Percent(await row.Locator("td").Nth(2).InnerTextAsync()), 3);
        Assert.Equal(evidence.GetProperty("windowRated").GetInt64(), Count((await row.Locator("td").Nth(4).InnerTextAsync()).Split('/')[1]));
        await Expect(triager.Page.Locator("#alert-detail figure svg.interval-pair")).ToBeVisibleAsync();
        await ScreenshotAsync(triager.Page, "regressions");
        await triager.Page.GetByLabel("Note").FillAsync("looking into the browsing tool");
        await triager.Page.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" }).ClickAsync();
        await Expect(triager.Page.Locator("#alert-state")).ToHaveTextAsync("acknowledged");
        await Expect(triager.Page.Locator("#alert-acknowledged")).ToContainTextAsync("dev-triager");
        var after = await GetAsync($"/api/alerts/{id}");
        Assert.Equal("dev-triager", after.GetProperty("alert").GetProperty("acknowledgedBy").GetString());

        // The alert's conversations: thumbs-down of its cell.
        await triager.ClickAndWaitAsync(triager.Page.Locator("#alert-conversations"));
        var rows = triager.Page.Locator("#conversations tbody tr");
        Assert.True(await rows.CountAsync() > 0);
        for (var i = 0; i < await rows.CountAsync(); i++)
        {
            await Expect(rows.Nth(i).Locator("td").Nth(1)).ToHaveTextAsync("atlas@2026-11");
            await Expect(rows.Nth(i).Locator("td.rating")).ToHaveTextAsync("down");
        }

        NoProblems(triager);
    }

    [Fact]
    public async Task A_triager_assigns_and_resolves_a_cluster_on_the_triage_page_and_a_viewer_sees_no_actions()
    {
        var clusters = await GetAsync($"/api/triage/clusters?model={ConsolePlatformFixture.ClusterModel}");
        Assert.True(clusters.GetArrayLength() >= 1);
        var cluster = clusters.EnumerateArray().First(c => c.GetProperty("state").GetString() == "open");
        var id = cluster.GetProperty("clusterId").GetString();

        await using (var viewer = await SignInAsync("local-dev-viewer-key", $"/clusters?model={ConsolePlatformFixture.ClusterModel}&cluster={id}"))
        {
            await Expect(viewer.Page.Locator("#samples li").First).ToBeVisibleAsync();
            await Expect(viewer.Page.Locator("#assign")).ToHaveCountAsync(0);
            await Expect(viewer.Page.Locator("#resolve")).ToHaveCountAsync(0);
            NoProblems(viewer);
        }

        await using var triager = await SignInAsync("local-dev-triager-key", $"/clusters?model={ConsolePlatformFixture.ClusterModel}&cluster={id}");
        var row = triager.Page.Locator($"#clusters tr[data-cluster=\"{id}\"]");
        Assert.Equal(cluster.GetProperty("size").GetInt64(), Count(await row.Locator("td.size").InnerTextAsync()));
        await Expect(row.Locator("td.spark svg")).ToBeVisibleAsync();
        var version = cluster.GetProperty("version").GetInt64();
        await Expect(triager.Page.Locator("#detail-version")).ToHaveTextAsync(version.ToString(CultureInfo.InvariantCulture));
        await ScreenshotAsync(triager.Page, "triage");

        await triager.Page.Locator("#assignee").FillAsync("dana");
        await triager.Page.Locator("#assign").ClickAsync();
        await Expect(triager.Page.Locator("#detail-assignee")).ToHaveTextAsync("dana");
        await Expect(triager.Page.Locator("#detail-version")).ToHaveTextAsync((version + 1).ToString(CultureInfo.InvariantCulture));
        await triager.Page.Locator("#fix-reference").FillAsync("PR-4711");
        await triager.Page.Locator("#resolve").ClickAsync();
        await Expect(triager.Page.Locator("#detail-state")).ToHaveTextAsync("resolved");
        await Expect(triager.Page.Locator("#history li").First).ToContainTextAsync("ClusterResolved by dev-triager");
        var after = await GetAsync($"/api/triage/clusters/{id}");
        Assert.Equal("resolved", after.GetProperty("cluster").GetProperty("state").GetString());
        Assert.Equal("dana", after.GetProperty("cluster").GetProperty("assignee").GetString());

        // Drill-down from the cluster's size: its items' conversations.
        await triager.ClickAndWaitAsync(row.Locator("td.size a"));
        await Expect(triager.Page.Locator("#conversations tbody tr")).ToHaveCountAsync((int)cluster.GetProperty("size").GetInt64());
        NoProblems(triager);
    }

    [Fact]
    public async Task The_pipeline_page_shows_the_figures_the_worker_exports()
    {
        await using var session = await SignInAsync("local-dev-viewer-key", "/pipeline");
        var stored = await fixture.Worker.MetricAsync("analytics_ingest_events_stored_total");
        Assert.True(stored > 0);
        Assert.Equal((long)stored, Count(await session.Page.Locator("#events-stored .value").InnerTextAsync()));
        await Expect(session.Page.Locator("#projections tbody tr").First).ToBeVisibleAsync();
        await Expect(session.Page.Locator("#sources li.up").First).ToBeVisibleAsync();
        await Expect(session.Page.Locator("#ingest-rate .value")).ToHaveTextAsync(new Regex("events/s"), new() { Timeout = 15_000 });
        await ScreenshotAsync(session.Page, "pipeline");
        NoProblems(session);
    }

    [Theory]
    [InlineData("/overview")]
    [InlineData("/model?model=atlas&version=2026-11&compare=2026-10")]
    [InlineData("/model?model=atlas")] // the version picked from /api/models before the page's requests start
    [InlineData("/model")]
    [InlineData("/comparisons")]
    [InlineData("/regressions?state=all")]
    [InlineData("/clusters")]
    [InlineData("/conversations?model=atlas&rating=down")]
    [InlineData("/pipeline")]
    public async Task Every_page_has_no_serious_or_critical_accessibility_violation_and_no_console_error(string path)
    {
        await using var session = await SignInAsync("local-dev-triager-key", path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + Window);
        var results = await session.Page.RunAxe();
        var serious = results.Violations.Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Take(3).Select(n => n.Target?.ToString()))}").ToList();
        Assert.True(serious.Count == 0, string.Join("\n", serious));
        NoProblems(session);
    }

    [Fact]
    public async Task The_console_is_served_with_a_strict_content_security_policy_and_only_from_this_host()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri(fixture.BaseUrl) };
        foreach (var path in new[] { "/", "/overview", "/conversations/8d3c2f8e-7a3a-4c55-9a60-0f1b2a3c4d5e" })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            var html = await response.Content.ReadAsStringAsync();
            Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
            Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        }

        // Only the pages are open: anything else without a key meets the fallback authorization policy.
        using var unknown = await anonymous.GetAsync("/api/no-such-endpoint");
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
    }

    [Fact]
    public async Task The_me_endpoint_tells_a_keys_role_and_refuses_an_unknown_key()
    {
        var me = await GetAsync("/api/me");
        Assert.Equal("viewer", me.GetProperty("role").GetString());
        Assert.False(me.GetProperty("canTriage").GetBoolean());
        using var triager = new HttpClient { BaseAddress = new Uri(fixture.BaseUrl) };
        triager.DefaultRequestHeaders.Add("X-Api-Key", "local-dev-triager-key");
        Assert.True((await triager.GetFromJsonAsync<JsonElement>("/api/me", Json)).GetProperty("canTriage").GetBoolean());
        using var stranger = new HttpClient { BaseAddress = new Uri(fixture.BaseUrl) };
        stranger.DefaultRequestHeaders.Add("X-Api-Key", "no-such-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync("/api/me")).StatusCode);
    }

    [Fact]
    public async Task The_conversation_list_holds_every_response_and_thumbs_down_each_cell_counts_and_nothing_where_it_counts_none()
    {
        // Unsliced, every cell of the matrix (and "*", the version over all capabilities); sliced, the web surface's.
        foreach (var (slice, expectedCells) in new[] { (string.Empty, 5), ("&surface=web", 5) })
        {
            var matrix = (await ItemsAsync($"/api/satisfaction/matrix?{Window}{slice}")).EnumerateArray().ToList();
            Assert.True(matrix.Count >= expectedCells, $"{matrix.Count} cells{slice}");
            foreach (var cell in matrix)
            {
                var query = $"model={cell.GetProperty("modelId").GetString()}&version={Uri.EscapeDataString(cell.GetProperty("version").GetString()!)}" +
                    $"&capability={Uri.EscapeDataString(cell.GetProperty("capability").GetString()!)}&{Window}{slice}";
                Assert.Equal(cell.GetProperty("responses").GetInt64(), await CountListedAsync(query));
                Assert.Equal(cell.GetProperty("down").GetInt64(), await CountListedAsync(query + "&rating=down"));
            }
        }

        // Each thumbs-down reason of a version's cell: as many listed as the reasons answer counts.
        var reasons = (await ItemsAsync($"/api/satisfaction/reasons?model=atlas&version=2026-11&capability=browsing&{Window}")).EnumerateArray().ToList();
        Assert.NotEmpty(reasons);
        foreach (var reason in reasons)
        {
            Assert.Equal(reason.GetProperty("count").GetInt64(), await CountListedAsync(
                $"model=atlas&version=2026-11&capability=browsing&reason={reason.GetProperty("reason").GetString()}&{Window}"));
        }

        // Where the counters count no response (a capability the model never had, a surface nobody used, a window
        // before the traffic) or no thumbs-down with the reason, the page is empty and has no next.
        foreach (var query in new[] { $"model=atlas&capability=no_such_capability&{Window}", $"surface=no-such-surface&{Window}",
                     "from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z", $"model=atlas&reason=no_such_reason&{Window}" })
        {
            var page = await GetAsync($"/api/conversations?{query}");
            Assert.Empty(page.GetProperty("items").EnumerateArray());
            Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);
        }
    }

    /// <summary>How many items the conversation list gives for a query, read page by page (200 a page), each once.</summary>
    private async Task<long> CountListedAsync(string query)
    {
        var items = await ListedItemsAsync(query, limit: 200);
        Assert.Equal(items.Count, items.Distinct().Count());
        return items.Count;
    }

    /// <summary>The item ids the conversation list gives for a query, following its cursor from page to page.</summary>
    private async Task<List<string>> ListedItemsAsync(string query, int limit)
    {
        var items = new List<string>();
        string? cursor = null;
        do
        {
            var page = await GetAsync($"/api/conversations?{query}&limit={limit}" + (cursor is null ? string.Empty : $"&cursor={cursor}"));
            items.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("itemId").GetString()!));
            cursor = page.GetProperty("next").ValueKind == JsonValueKind.String ? page.GetProperty("next").GetString() : null;
        }
        while (cursor is not null);

        return items;
    }

    [Fact]
    public async Task The_conversation_list_pages_through_a_cells_responses_without_overlap_and_refuses_a_bad_cursor()
    {
        var all = await ListedItemsAsync($"model=atlas&version=2026-11&capability=browsing&rating=down&{Window}", limit: 25);
        var matrix = await ItemsAsync($"/api/satisfaction/matrix?model=atlas&{Window}");
        var cell = matrix.EnumerateArray().Single(c => c.GetProperty("version").GetString() == "2026-11" && c.GetProperty("capability").GetString() == "browsing");
        Assert.Equal(cell.GetProperty("down").GetInt64(), all.Count);
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(HttpStatusCode.BadRequest, (await fixture.Viewer.GetAsync("/api/conversations?cursor=not-a-cursor")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await fixture.Viewer.GetAsync("/api/conversations?pair=atlas@2026-11")).StatusCode);
    }
}
