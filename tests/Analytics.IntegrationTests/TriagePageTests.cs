using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Analytics.IntegrationTests;

/// <summary>
/// The triage page in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; infra/scripts/run-tests.sh
/// installs it when missing) against the real API on a local port, with clusters made by the real worker.
/// </summary>
[Collection(TriageCollection.Name)]
public sealed class TriagePageTests(TriagePlatformFixture fixture)
{
    [Fact]
    public async Task A_triager_opens_the_list_opens_a_cluster_assigns_and_resolves_it_and_sees_the_state_change()
    {
        Assert.True(File.Exists(Chromium.Path), $"No Chromium at {Chromium.Path}: apt-get install -y chromium (infra/scripts/run-tests.sh does it).");
        await fixture.SeedAsync("page-model", TriageFeedback.EmptyPlot);
        await using var api = new WebApplicationFactory<Program>().WithWebHostBuilder(host => ApiClients.UsePlatform(host, fixture.Platform)
            .UseSetting("Urls", ApiClients.AnyLoopbackPort));
        var address = ApiClients.StartOnKestrel(api);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium.Path, Headless = true });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = address.ToString().TrimEnd('/'), ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var failedRequests = new List<string>();
        page.RequestFailed += (_, request) => failedRequests.Add(request.Url);

        await page.GotoAsync("/triage");
        await page.FillAsync("#api-key", "local-dev-triager-key");
        await page.ClickAsync("#save-key");
        await page.FillAsync("#filter-model", "page-model");
        await page.PressAsync("#filter-model", "Enter");

        var row = page.Locator("#clusters tbody tr");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.Locator("td.state")).ToHaveTextAsync("open");
        await row.ClickAsync();

        await Expect(page.Locator("#detail")).ToBeVisibleAsync();
        await Expect(page.Locator("#samples li")).ToHaveCountAsync(5);
        await Expect(page.Locator("#detail-version")).ToHaveTextAsync("1");
        Assert.True(await page.EvaluateAsync<bool>("() => Chart.getChart('daily-chart')?.data.datasets[0].data.length === 1"), "no daily chart");

        await page.FillAsync("#assignee", "dana");
        await page.ClickAsync("#assign");
        await Expect(page.Locator("#detail-assignee")).ToHaveTextAsync("dana");
        await Expect(page.Locator("#detail-version")).ToHaveTextAsync("2");

        await page.FillAsync("#fix-reference", "PR-4711");
        await page.ClickAsync("#resolve");
        await Expect(page.Locator("#detail-state")).ToHaveTextAsync("resolved");
        await Expect(row.Locator("td.state")).ToHaveTextAsync("resolved");
        await Expect(page.Locator("#history li").First).ToContainTextAsync("ClusterResolved by dev-triager");

        var screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(screenshots);
        var file = Path.Combine(screenshots, "triage-page-resolved.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        Assert.True(new FileInfo(file).Length > 10_000, "screenshot is empty");
        Assert.Empty(failedRequests);
    }

}
