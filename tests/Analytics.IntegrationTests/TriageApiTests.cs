using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>One platform and worker for the class; each test works on clusters of its own model.</summary>
public sealed class TriagePlatformFixture : IAsyncLifetime
{
    public const int ReopenAfterItems = 3;

    public TestPlatform Platform { get; private set; } = null!;

    public WebApplicationFactory<Program> Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Platform = await TestPlatform.CreateAsync();
        await Platform.StartWorkerAsync(new Dictionary<string, string> { ["Triage:ReopenAfterItems"] = ReopenAfterItems.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Api = ApiClients.For(Platform);
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Platform.DisposeAsync();
    }

    /// <summary>Publishes thumbs-down items of one model and waits until all of that model's items are clustered.</summary>
    public async Task SeedAsync(string modelId, IReadOnlyCollection<string> comments, DateTimeOffset? at = null)
    {
        var before = await TriageFeedback.ClusteredCountAsync(Platform, modelId);
        await TriageFeedback.PublishAsync(Platform, TriageFeedback.ThumbsDown(modelId, comments, at ?? TriageFeedback.At));
        await TestEnvironment.WaitUntilAsync(async () => await TriageFeedback.ClusteredCountAsync(Platform, modelId) >= before + comments.Count,
            TimeSpan.FromSeconds(120), async () => $"clustered {await TriageFeedback.ClusteredCountAsync(Platform, modelId)} of {before + comments.Count} for {modelId}");
    }
}

/// <summary>The triage API and page tests share one platform and worker (each works on its own model): one embedding model to load, not two.</summary>
[CollectionDefinition(Name)]
public sealed class TriageCollection : ICollectionFixture<TriagePlatformFixture>
{
    public const string Name = "triage platform";
}

[Collection(TriageCollection.Name)]
public sealed class TriageApiTests(TriagePlatformFixture fixture)
{
    private HttpClient Triager => ApiClients.WithKey(fixture.Api, "local-dev-triager-key");

    private HttpClient Viewer => ApiClients.Viewer(fixture.Api);

    [Fact]
    public async Task Thumbs_down_items_about_two_problems_end_in_two_clusters_of_their_group_with_samples_and_daily_size()
    {
        await fixture.SeedAsync("clusters-model", [.. TriageFeedback.EmptyPlot, .. TriageFeedback.UploadFails]);

        var clusters = await ListAsync(Viewer, "model=clusters-model");
        Assert.Equal(2, clusters.Count);
        Assert.All(clusters, c => Assert.Equal(6, c.GetProperty("size").GetInt32()));
        Assert.All(clusters, c => Assert.Equal(("code_execution", "code_error", "open", 1), (c.GetProperty("capability").GetString(),
            c.GetProperty("reason").GetString(), c.GetProperty("state").GetString(), c.GetProperty("version").GetInt32())));
        Assert.All(clusters, c => Assert.True(c.GetProperty("isNew").GetBoolean()));

        foreach (var cluster in clusters)
        {
            var detail = await Viewer.GetFromJsonAsync<JsonElement>($"/api/triage/clusters/{cluster.GetProperty("clusterId")}");
            var samples = detail.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("comment").GetString()!).ToList();
            Assert.Equal(5, samples.Count);
            // Every sample of a cluster is about the same problem as its label.
            var topic = TriageFeedback.EmptyPlot.Contains(cluster.GetProperty("label").GetString()) ? TriageFeedback.EmptyPlot : TriageFeedback.UploadFails;
            Assert.All(samples, s => Assert.Contains(s, topic));
            var daily = Assert.Single(detail.GetProperty("daily").EnumerateArray());
            Assert.Equal(("2026-11-20", 6), (daily.GetProperty("day").GetString(), daily.GetProperty("items").GetInt32()));
        }
    }

    [Fact]
    public async Task A_cluster_is_assigned_labeled_annotated_and_resolved_and_its_history_shows_who_did_what()
    {
        await fixture.SeedAsync("lifecycle-model", TriageFeedback.EmptyPlot);
        var id = (await ListAsync(Viewer, "model=lifecycle-model")).Single().GetProperty("clusterId").GetGuid();

        Assert.Equal(2, await ActAsync(id, "assign", new { assignee = "dana", expectedVersion = 1 }));
        Assert.Equal(3, await ActAsync(id, "label", new { severity = "S1", category = "quality", expectedVersion = 2 }));
        Assert.Equal(4, await ActAsync(id, "notes", new { note = "Seen with pandas 2.2 only", expectedVersion = 3 }));
        Assert.Equal(5, await ActAsync(id, "resolve", new { fixReference = "PR-1234", expectedVersion = 4 }));

        var resolved = (await ListAsync(Viewer, "model=lifecycle-model&state=resolved&severity=S1")).Single();
        Assert.Equal(("resolved", "S1", "quality", "dana", "PR-1234", 5), (resolved.GetProperty("state").GetString(), resolved.GetProperty("severity").GetString(),
            resolved.GetProperty("category").GetString(), resolved.GetProperty("assignee").GetString(), resolved.GetProperty("fixReference").GetString(),
            resolved.GetProperty("version").GetInt32()));
        Assert.Empty(await ListAsync(Viewer, "model=lifecycle-model&state=open"));

        var history = await Viewer.GetFromJsonAsync<JsonElement>($"/api/triage/clusters/{id}/history");
        Assert.Equal(
            [("ClusterOpened", "system", 1), ("ClusterAssigned", "dev-triager", 2), ("ClusterLabeled", "dev-triager", 3),
                ("ClusterNoteAdded", "dev-triager", 4), ("ClusterResolved", "dev-triager", 5)],
            history.EnumerateArray().Select(e => (e.GetProperty("event").GetString(), e.GetProperty("actor").GetString(), e.GetProperty("version").GetInt32())).ToList());
        Assert.Equal("PR-1234", history[4].GetProperty("details").GetProperty("fixReference").GetString());
        Assert.Equal("6", history[4].GetProperty("details").GetProperty("sizeAtResolution").GetString());
    }

    [Fact]
    public async Task A_resolved_cluster_reopens_by_itself_once_it_gets_the_threshold_of_new_items_and_not_before()
    {
        await fixture.SeedAsync("reopen-model", TriageFeedback.UploadFails);
        var id = (await ListAsync(Viewer, "model=reopen-model")).Single().GetProperty("clusterId").GetGuid();
        Assert.Equal(2, await ActAsync(id, "resolve", new { fixReference = "FIX-77", expectedVersion = 1 }));

        // One item fewer than the threshold: still resolved.
        await fixture.SeedAsync("reopen-model", TriageFeedback.UploadFails.Take(TriagePlatformFixture.ReopenAfterItems - 1).ToList(), TriageFeedback.At.AddDays(1));
        var cluster = (await ListAsync(Viewer, "model=reopen-model")).Single();
        Assert.Equal(("resolved", 6 + TriagePlatformFixture.ReopenAfterItems - 1), (cluster.GetProperty("state").GetString(), cluster.GetProperty("size").GetInt32()));

        await fixture.SeedAsync("reopen-model", TriageFeedback.UploadFails.Take(1).ToList(), TriageFeedback.At.AddDays(1).AddHours(1));
        cluster = (await ListAsync(Viewer, "model=reopen-model")).Single();
        var history = await Viewer.GetFromJsonAsync<JsonElement>($"/api/triage/clusters/{id}/history");
        Assert.True(cluster.GetProperty("version").GetInt32() == 3, history.ToString());
        Assert.Equal("open", cluster.GetProperty("state").GetString());

        var reopened = history.EnumerateArray().Last();
        Assert.Equal(("ClusterReopened", "system", "3"), (reopened.GetProperty("event").GetString(), reopened.GetProperty("actor").GetString(),
            reopened.GetProperty("details").GetProperty("newItems").GetString()));
    }

    [Fact]
    public async Task A_second_edit_made_against_the_same_version_gets_a_409_with_problem_details()
    {
        await fixture.SeedAsync("conflict-model", TriageFeedback.EmptyPlot.Take(2).ToList());
        var id = (await ListAsync(Viewer, "model=conflict-model")).Single().GetProperty("clusterId").GetGuid();

        Assert.Equal(2, await ActAsync(id, "assign", new { assignee = "dana", expectedVersion = 1 }));
        var late = await Triager.PostAsJsonAsync($"/api/triage/clusters/{id}/label", new { severity = "S0", category = "safety", expectedVersion = 1 });

        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal("application/problem+json", late.Content.Headers.ContentType?.MediaType);
        Assert.Equal("The cluster changed", (await late.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        var cluster = (await ListAsync(Viewer, "model=conflict-model")).Single();
        Assert.Equal(2, cluster.GetProperty("version").GetInt32());
        Assert.Equal(JsonValueKind.Null, cluster.GetProperty("severity").ValueKind);
    }

    [Fact]
    public async Task Triage_actions_need_a_key_and_the_triager_role()
    {
        await fixture.SeedAsync("roles-model", TriageFeedback.EmptyPlot.Take(1).ToList());
        var id = (await ListAsync(Viewer, "model=roles-model")).Single().GetProperty("clusterId").GetGuid();
        var assign = new { assignee = "eve", expectedVersion = 1 };

        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.Api.CreateClient().PostAsJsonAsync($"/api/triage/clusters/{id}/assign", assign)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.Api.CreateClient().GetAsync("/api/triage/clusters")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Viewer.PostAsJsonAsync($"/api/triage/clusters/{id}/assign", assign)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ApiClients.WithKey(fixture.Api, "local-dev-admin-key").PostAsJsonAsync($"/api/triage/clusters/{id}/assign", assign)).StatusCode);
        var history = await Viewer.GetFromJsonAsync<JsonElement>($"/api/triage/clusters/{id}/history");
        Assert.Equal("dev-admin", history.EnumerateArray().Last().GetProperty("actor").GetString());
    }

    [Theory]
    [InlineData("/api/triage/clusters?sort=loudest", "Unknown sort")]
    [InlineData("/api/triage/clusters?severity=S9", "Unknown severity")]
    [InlineData("/api/triage/clusters?state=closed", "Unknown state")]
    [InlineData("/api/triage/clusters?limit=0", "limit out of range")]
    [InlineData("/api/triage/clusters?asOf=yesterday", null)]
    public async Task Bad_list_parameters_get_a_400_with_problem_details(string url, string? title)
    {
        var response = await Viewer.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        if (title is not null)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(title, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        }
    }

    [Fact]
    public async Task Bad_action_bodies_get_a_400_and_an_unknown_cluster_a_404()
    {
        await fixture.SeedAsync("bad-body-model", TriageFeedback.EmptyPlot.Take(1).ToList());
        var id = (await ListAsync(Viewer, "model=bad-body-model")).Single().GetProperty("clusterId").GetGuid();

        var label = await Triager.PostAsJsonAsync($"/api/triage/clusters/{id}/label", new { severity = "S7", category = "safety", expectedVersion = 1 });
        Assert.Equal(HttpStatusCode.BadRequest, label.StatusCode);
        var noVersion = await Triager.PostAsJsonAsync($"/api/triage/clusters/{id}/resolve", new { fixReference = "PR-1" });
        Assert.Equal(HttpStatusCode.BadRequest, noVersion.StatusCode);
        var unknown = await Triager.PostAsJsonAsync($"/api/triage/clusters/{Guid.NewGuid()}/assign", new { assignee = "x", expectedVersion = 1 });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(1, (await ListAsync(Viewer, "model=bad-body-model")).Single().GetProperty("version").GetInt32());
    }

    private async Task<long> ActAsync(Guid id, string action, object body)
    {
        var response = await Triager.PostAsJsonAsync($"/api/triage/clusters/{id}/{action}", body);
        Assert.True(response.IsSuccessStatusCode, $"{action}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64();
    }

    private static async Task<List<JsonElement>> ListAsync(HttpClient client, string query) =>
        (await client.GetFromJsonAsync<JsonElement>($"/api/triage/clusters?{query}")).EnumerateArray().ToList();
}
