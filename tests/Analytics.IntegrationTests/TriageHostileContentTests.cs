using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Triage;

namespace Analytics.IntegrationTests;

/// <summary>
/// The triage clusterer never stops on what a user wrote: a label is cut between text elements, and an item that makes
/// it throw is dead-lettered, counted and left behind while later items are clustered.
/// </summary>
public sealed class TriageHostileContentTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_comment_with_an_emoji_across_the_140th_unit_becomes_a_label_of_whole_text_elements_and_clustering_goes_on()
    {
        await using var platform = await TestPlatform.CreateAsync();
        var worker = await platform.StartWorkerAsync();

        // 139 ASCII units, then an emoji whose high surrogate is unit 140: a UTF-16 cut at 140 leaves half of it.
        var comment = string.Concat(Enumerable.Repeat("The chart came out empty again. ", 5))[..139]
            + "😀 please fix this";
        Assert.True(char.IsHighSurrogate(comment[139]));
        await TriageFeedback.PublishAsync(platform, TriageFeedback.ThumbsDown("emoji-model", [comment], TriageFeedback.At));
        await TestEnvironment.WaitUntilAsync(async () => await TriageFeedback.ClusteredCountAsync(platform, "emoji-model") == 1, Timeout,
            async () => $"clustered {await TriageFeedback.ClusteredCountAsync(platform, "emoji-model")} of 1. Output:\n{worker.Output}");

        var label = await platform.ScalarAsync<string>("select label from analytics.tri_clusters where model_id = 'emoji-model'");
        Assert.Equal(comment[..139], label);
        var opened = await platform.ScalarAsync<string>(
            $"select data ->> 'suggestedLabel' from {EventStoreRegistration.SchemaName}.mt_events where type = 'cluster_opened' and data ->> 'modelId' = 'emoji-model'");
        Assert.Equal(label, opened);

        // The clusterer goes on: later thumbs-down are clustered, and nothing was dead-lettered.
        await TriageFeedback.PublishAsync(platform, TriageFeedback.ThumbsDown("after-emoji-model", TriageFeedback.EmptyPlot, TriageFeedback.At));
        await TestEnvironment.WaitUntilAsync(
            async () => await TriageFeedback.ClusteredCountAsync(platform, "after-emoji-model") == TriageFeedback.EmptyPlot.Length, Timeout,
            async () => $"clustered {await TriageFeedback.ClusteredCountAsync(platform, "after-emoji-model")} later items");
        Assert.Equal(0, await DeadLettersAsync(platform));
        Assert.DoesNotContain("EncoderFallbackException", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_thumbs_down_the_clusterer_throws_on_is_dead_lettered_counted_and_logged_without_its_text_and_later_items_are_clustered()
    {
        await using var platform = await TestPlatform.CreateAsync();
        const string secret = "Poisoned comment that must never reach a log line";
        var comments = TriageFeedback.UploadFails.Take(3).Append(secret).Concat(TriageFeedback.UploadFails.Skip(3)).ToList();
        var events = TriageFeedback.ThumbsDown("poison-model", comments, TriageFeedback.At);
        var poison = events.OfType<ResponseRated>().Single(r => r.Comment == secret).EventId;
        var worker = await platform.StartWorkerAsync(new Dictionary<string, string> { ["Faults__ThrowInClustererOnEventId"] = poison.ToString() });

        // All of them in one message, so the poisoned item shares its page with the others.
        await TriageFeedback.PublishAsync(platform, events);
        await TestEnvironment.WaitUntilAsync(
            async () => await TriageFeedback.ClusteredCountAsync(platform, "poison-model") == comments.Count - 1, Timeout,
            async () => $"clustered {await TriageFeedback.ClusteredCountAsync(platform, "poison-model")} of {comments.Count - 1}. Output:\n{worker.Output}");

        // Dead-lettered with its exception, under the clusterer's name; counted by the gauge.
        await TestEnvironment.WaitUntilAsync(async () => await DeadLettersAsync(platform) == 1, Timeout,
            async () => $"{await DeadLettersAsync(platform)} dead letters");
        var deadLetter = await platform.ScalarAsync<string>(
            $"select data::text from {EventStoreRegistration.SchemaName}.mt_doc_deadletterevent where data ->> 'projectionName' like '{ThumbsDownClusterer.SubscriptionName}%'");
        Assert.Contains(nameof(ClusteringFaultException), deadLetter, StringComparison.Ordinal);
        await TestEnvironment.WaitUntilAsync(
            async () => await worker.OptionalMetricAsync("analytics_projection_dead_letters", $"projection=\"{ThumbsDownClusterer.SubscriptionName}\"") == 1, Timeout,
            async () => $"gauge {await worker.OptionalMetricAsync("analytics_projection_dead_letters", $"projection=\"{ThumbsDownClusterer.SubscriptionName}\"")}");
        Assert.Equal(0, await platform.ScalarAsync<long>(
            $"select count(*) from analytics.tri_cluster_items where rating_event_id = '{poison}'"));

        // Logged by its ids, never by what the user wrote.
        Assert.Contains(poison.ToString(), worker.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, worker.Output, StringComparison.Ordinal);

        // Later items are clustered: the subscription did not stop.
        await TriageFeedback.PublishAsync(platform, TriageFeedback.ThumbsDown("later-model", TriageFeedback.EmptyPlot, TriageFeedback.At));
        await TestEnvironment.WaitUntilAsync(
            async () => await TriageFeedback.ClusteredCountAsync(platform, "later-model") == TriageFeedback.EmptyPlot.Length, Timeout,
            async () => $"clustered {await TriageFeedback.ClusteredCountAsync(platform, "later-model")} later items. Output:\n{worker.Output}");
        await TestEnvironment.WaitUntilAsync(platform.ClustererCaughtUpAsync, Timeout, () => Task.FromResult("clusterer behind"));
        Assert.Equal(1, await DeadLettersAsync(platform));
    }

    private static async Task<long> DeadLettersAsync(TestPlatform platform)
    {
        var exists = await platform.ScalarAsync<bool>($"select to_regclass('{EventStoreRegistration.SchemaName}.mt_doc_deadletterevent') is not null");
        return exists
            ? await platform.ScalarAsync<long>(
                $"select count(*) from {EventStoreRegistration.SchemaName}.mt_doc_deadletterevent where data ->> 'projectionName' like '{ThumbsDownClusterer.SubscriptionName}%'")
            : 0;
    }
}
