using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Analytics.IntegrationTests;

/// <summary>
/// The rest of the triage API of docs/triage.md on the shared triage platform: resolving twice, an unknown category,
/// the 404s of the reads, the severity filter "none" and the sort orders.
/// </summary>
[Collection(TriageCollection.Name)]
public sealed class TriageApiMoreTests(TriagePlatformFixture fixture)
{
    private HttpClient Triager => ApiClients.WithKey(fixture.Api, "local-dev-triager-key");

    private HttpClient Viewer => ApiClients.Viewer(fixture.Api);

    [Fact]
    public async Task Resolving_twice_is_a_409_an_unknown_category_a_400_and_an_unknown_cluster_a_404_on_every_read()
    {
        await fixture.SeedAsync("more-model", TriageFeedback.EmptyPlot.Take(2).ToList());
        var id = (await ListAsync("model=more-model")).Single().GetProperty("clusterId").GetGuid();

        var badCategory = await Triager.PostAsJsonAsync($"/api/triage/clusters/{id}/label", new { severity = "S1", category = "cosmetic", expectedVersion = 1 });
        Assert.Equal(HttpStatusCode.BadRequest, badCategory.StatusCode);
        Assert.Equal("application/problem+json", badCategory.Content.Headers.ContentType?.MediaType);

        Assert.True((await Triager.PostAsJsonAsync($"/api/triage/clusters/{id}/resolve", new { fixReference = "PR-9", expectedVersion = 1 })).IsSuccessStatusCode);
        var again = await Triager.PostAsJsonAsync($"/api/triage/clusters/{id}/resolve", new { fixReference = "PR-10", expectedVersion = 2 });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("Already resolved", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        Assert.Equal(2, (await ListAsync("model=more-model")).Single().GetProperty("version").GetInt32()); // nothing appended

        var unknown = Guid.NewGuid();
        foreach (var read in new[] { $"/api/triage/clusters/{unknown}", $"/api/triage/clusters/{unknown}/history" })
        {
            var response = await Viewer.GetAsync(read);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("Unknown cluster", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        }
    }

    [Fact]
    public async Task Severity_none_lists_the_unlabelled_clusters_and_the_sort_orders_hold()
    {
        await fixture.SeedAsync("sort-model", [.. TriageFeedback.EmptyPlot, .. TriageFeedback.UploadFails.Take(2)]);
        var clusters = await ListAsync("model=sort-model");
        Assert.True(clusters.Count >= 2, $"{clusters.Count} clusters");
        var labelled = clusters[^1].GetProperty("clusterId").GetGuid();
        Assert.True((await Triager.PostAsJsonAsync($"/api/triage/clusters/{labelled}/label",
            new { severity = "S0", category = "safety", expectedVersion = clusters[^1].GetProperty("version").GetInt32() })).IsSuccessStatusCode);

        var unlabelled = await ListAsync("model=sort-model&severity=none");
        Assert.Equal(clusters.Count - 1, unlabelled.Count);
        Assert.DoesNotContain(unlabelled, c => c.GetProperty("clusterId").GetGuid() == labelled);
        Assert.Equal(labelled, (await ListAsync("model=sort-model&severity=S0")).Single().GetProperty("clusterId").GetGuid());

        // size: largest first; severity: S0 before the unlabelled ones.
        var bySize = (await ListAsync("model=sort-model&sort=size")).Select(c => c.GetProperty("size").GetInt32()).ToList();
        Assert.Equal(bySize.OrderDescending(), bySize);
        Assert.Equal(labelled, (await ListAsync("model=sort-model&sort=severity"))[0].GetProperty("clusterId").GetGuid());
        foreach (var sort in new[] { "growth", "recent" })
        {
            Assert.Equal(clusters.Count, (await ListAsync($"model=sort-model&sort={sort}")).Count);
        }
    }

    private async Task<List<JsonElement>> ListAsync(string query) =>
        (await Viewer.GetFromJsonAsync<JsonElement>($"/api/triage/clusters?{query}")).EnumerateArray().ToList();
}
