using Analytics.Api;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Analytics.IntegrationTests;

/// <summary>
/// The pages' security headers (Content-Security-Policy with object-src/base-uri/frame-ancestors, nosniff,
/// Referrer-Policy) on every page and file, the pages still working under them in Chromium (no CSP violation, no
/// error), and the API key kept in the tab's sessionStorage only (docs/security.md, "Pages").
/// </summary>
public sealed class PageSecurityTests : IAsyncLifetime
{
    private TestPlatform _platform = null!;
    private WebApplicationFactory<Program> _api = null!;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _api = new WebApplicationFactory<Program>().WithWebHostBuilder(host => ApiClients.UsePlatform(host, _platform)
            .UseSetting("Urls", ApiClients.AnyLoopbackPort));
        _address = ApiClients.StartOnKestrel(_api);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _platform.DisposeAsync();
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/overview")]
    [InlineData("/clusters")]
    [InlineData("/console/app.js")]
    [InlineData("/api/me")]
    [InlineData("/health")]
    public async Task Every_response_carries_the_security_headers(string path)
    {
        using var client = new HttpClient { BaseAddress = _address };
        using var response = await client.GetAsync(path);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        foreach (var directive in new[] { "default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'" })
        {
            Assert.Contains(directive, csp, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal(ConsolePages.ContentSecurityPolicy, csp);
    }

    [Fact]
    public async Task The_console_works_under_the_policy_and_keeps_the_key_in_sessionStorage_only_and_the_old_triage_address_opens_its_triage_page()
    {
        Assert.True(File.Exists(Chromium.Path), $"No Chromium at {Chromium.Path}: apt-get install -y chromium.");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium.Path, Headless = true });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = _address.ToString().TrimEnd('/') });
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            // A CSP violation is reported here ("Refused to …"); a 401 is the tab without a key asking, as it should.
            if (message.Type == "error" && !message.Text.Contains("status of 401", StringComparison.Ordinal))
            {
                problems.Add($"console: {message.Text}");
            }
        };
        page.PageError += (_, error) => problems.Add($"page error: {error}");
        page.RequestFailed += (_, request) => problems.Add($"failed: {request.Url} {request.Failure}");

        await page.GotoAsync("/overview");
        await page.GetByLabel("API key").FillAsync("local-dev-viewer-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#role")).ToContainTextAsync("viewer");
        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-ready", new System.Text.RegularExpressions.Regex(".+"), new() { Timeout = 30_000 });
        Assert.Equal("local-dev-viewer-key", await StoredKeyAsync(page, "sessionStorage"));
        Assert.Null(await StoredKeyAsync(page, "localStorage"));

        // The retired triage page's address opens the console's Triage page, signed in by the same tab's key.
        var clusters = page.WaitForResponseAsync(response => response.Url.Contains("/api/triage/clusters", StringComparison.Ordinal));
        await page.GotoAsync("/triage/");
        Assert.Equal(200, (await clusters).Status);
        Assert.EndsWith("/clusters", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-ready", new System.Text.RegularExpressions.Regex("^/clusters"), new() { Timeout = 30_000 });
        Assert.Equal("local-dev-viewer-key", await StoredKeyAsync(page, "sessionStorage"));
        Assert.Null(await StoredKeyAsync(page, "localStorage"));

        // A new tab of the same browser profile does not inherit the key: sessionStorage is per tab, so it asks for one.
        var other = await context.NewPageAsync();
        await other.GotoAsync("/clusters");
        await Expect(other.GetByLabel("API key")).ToBeVisibleAsync();
        Assert.Empty(await StoredValuesAsync(other, "sessionStorage"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static Task<string?> StoredKeyAsync(IPage page, string storage) =>
        page.EvaluateAsync<string?>($"() => Object.values({storage}).find(v => v.startsWith('local-dev-')) ?? null");

    private static async Task<string[]> StoredValuesAsync(IPage page, string storage) =>
        await page.EvaluateAsync<string[]>($"() => Object.values({storage})");
}
