using System.Globalization;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Analytics.IntegrationTests;

/// <summary>
/// The console's triage page (/clusters), on the seeded platform of <see cref="ConsolePageTests"/> (same fixture, one
/// worker): a cluster's row links to it by <c>cluster=</c>, and that link opened on its own shows the same cluster; a
/// triager labels it (severity and category) and adds a note, and the page shows what the API then holds.
/// </summary>
public sealed partial class ConsolePageTests
{
    [Fact]
    public async Task A_clusters_link_opens_it_and_a_triager_labels_it_and_adds_a_note_that_the_audit_trail_shows()
    {
        var clusters = await GetAsync($"/api/triage/clusters?model={ConsolePlatformFixture.ClusterModel}");
        // The last of the list: the assign-and-resolve test takes the first open one.
        var cluster = clusters.EnumerateArray().Last();
        var id = cluster.GetProperty("clusterId").GetString()!;
        var label = cluster.GetProperty("label").GetString()!;

        await using var triager = await SignInAsync("local-dev-triager-key", $"/clusters?model={ConsolePlatformFixture.ClusterModel}");
        var link = triager.Page.Locator($"#clusters tr[data-cluster=\"{id}\"] th a");
        await Expect(link).ToHaveTextAsync(label);
        var href = await link.GetAttributeAsync("href");
        Assert.Contains($"cluster={id}", href, StringComparison.Ordinal);
        await triager.ClickAndWaitAsync(link);
        var detail = triager.Page.Locator($"#cluster-detail article[data-cluster=\"{id}\"]");
        await Expect(detail.Locator("h2")).ToHaveTextAsync(label);
        Assert.Contains($"cluster={id}", triager.Page.Url, StringComparison.Ordinal);

        // The link on its own (bookmarked, shared) opens the same cluster.
        await using (var viewer = await SignInAsync("local-dev-viewer-key", href!))
        {
            await Expect(viewer.Page.Locator($"#cluster-detail article[data-cluster=\"{id}\"] h2")).ToHaveTextAsync(label);
            NoProblems(viewer);
        }

        var version = (await GetAsync($"/api/triage/clusters/{id}")).GetProperty("cluster").GetProperty("version").GetInt64();
        await triager.Page.Locator("#severity").SelectOptionAsync("S1");
        await triager.Page.Locator("#category").SelectOptionAsync("safety");
        await triager.Page.Locator("#label").ClickAsync();
        await Expect(triager.Page.Locator("#detail-label")).ToHaveTextAsync("S1 · safety");
        await Expect(triager.Page.Locator("#detail-version")).ToHaveTextAsync((version + 1).ToString(CultureInfo.InvariantCulture));

        await triager.Page.Locator("#note").FillAsync("the plotting tool drops empty series");
        await triager.Page.Locator("#add-note").ClickAsync();
        await Expect(triager.Page.Locator("#detail-version")).ToHaveTextAsync((version + 2).ToString(CultureInfo.InvariantCulture));
        await Expect(triager.Page.Locator("#history li").First).ToContainTextAsync("ClusterNoteAdded by dev-triager");
        await Expect(triager.Page.Locator("#history li").First).ToContainTextAsync("note: the plotting tool drops empty series");
        await Expect(triager.Page.Locator("#history li").Nth(1)).ToContainTextAsync("ClusterLabeled by dev-triager");

        var after = (await GetAsync($"/api/triage/clusters/{id}")).GetProperty("cluster");
        Assert.Equal("S1", after.GetProperty("severity").GetString());
        Assert.Equal("safety", after.GetProperty("category").GetString());
        var history = await GetAsync($"/api/triage/clusters/{id}/history");
        var note = history.EnumerateArray().Last();
        Assert.Equal("ClusterNoteAdded", note.GetProperty("event").GetString());
        Assert.Equal("the plotting tool drops empty series", note.GetProperty("details").GetProperty("note").GetString());
        NoProblems(triager);
    }
}
