using Analytics.Triage;

namespace Analytics.Tests;

/// <summary>
/// Clustering on a small labelled set through the real embedding model: items that obviously belong together end
/// together (purity), and one topic is not scattered over many clusters (inverse purity).
/// </summary>
public sealed class TriageClusteringTests(EmbedderFixture embedder) : IClassFixture<EmbedderFixture>
{
    private const string Group = "model-x|code_execution|code_error";

    // Prompts shared across topics: a shared prompt must not pull different complaints together.
    private static readonly string[] Prompts =
    [
        "Plot monthly sales from this CSV as a bar chart.", "Compute the median and IQR of column B.", "Explain this to me like I'm a student.",
    ];

    // Four topics, five different wordings each; what a thumbs-down comment looks like.
    private static readonly (string Topic, string Text)[] Labelled =
    [
        ("upload", "The CSV upload fails before the code even runs."),
        ("upload", "It could not read the file I uploaded."),
        ("upload", "Uploading my spreadsheet breaks the code execution."),
        ("upload", "The analysis crashed as soon as it opened my uploaded file."),
        ("upload", "File upload error, the script never ran on my data file."),
        ("empty-plot", "The chart came out empty."),
        ("empty-plot", "The plot has no data points on it."),
        ("empty-plot", "Blank figure, nothing was plotted."),
        ("empty-plot", "It drew an empty graph instead of my bar chart."),
        ("empty-plot", "The generated plot is completely empty."),
        ("chemistry-refusal", "It refused to explain a basic chemistry reaction."),
        ("chemistry-refusal", "Won't answer a harmless chemistry homework question."),
        ("chemistry-refusal", "Refused to tell me how baking soda and vinegar react."),
        ("chemistry-refusal", "Declined a simple high school chemistry question."),
        ("chemistry-refusal", "A refusal on an innocent question about chemical reactions."),
        ("wrong-date", "It invented a date that never happened."),
        ("wrong-date", "The year it gave for the event is wrong."),
        ("wrong-date", "Made up the date of the historical event."),
        ("wrong-date", "Wrong date for when the treaty was signed."),
        ("wrong-date", "The dates in the answer are fabricated."),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Obvious_topics_end_in_clusters_of_their_own_with_purity_at_least_0_9(bool everyItemHasTheSamePrompt)
    {
        var clusters = Cluster(Labelled, TriageOptions.DefaultSimilarityThreshold, everyItemHasTheSamePrompt);

        var purity = clusters.Sum(c => c.GroupBy(i => i).Max(g => g.Count())) / (double)Labelled.Length;
        Assert.True(purity >= 0.9, $"purity {purity:0.00}: {Describe(clusters)}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_topic_stays_mostly_in_one_cluster_with_inverse_purity_at_least_0_8(bool everyItemHasTheSamePrompt)
    {
        var clusters = Cluster(Labelled, TriageOptions.DefaultSimilarityThreshold, everyItemHasTheSamePrompt);

        // For each topic, the share of its items in the cluster that holds most of them.
        var inversePurity = Labelled.GroupBy(l => l.Topic)
            .Sum(topic => clusters.Max(c => c.Count(t => t == topic.Key))) / (double)Labelled.Length;
        Assert.True(inversePurity >= 0.8, $"inverse purity {inversePurity:0.00}: {Describe(clusters)}");
        Assert.InRange(clusters.Count, 4, 6);
    }

    [Fact]
    public void The_same_text_in_another_group_opens_another_cluster()
    {
        var clustering = new CentroidClustering(TriageOptions.DefaultSimilarityThreshold);
        var vector = embedder.Embedder.Embed(["The chart came out empty."])[0];

        var first = clustering.Assign("model-x|code_execution|code_error", vector, Guid.NewGuid).Cluster;
        var again = clustering.Assign("model-x|code_execution|code_error", vector, Guid.NewGuid).Cluster;
        var otherModel = clustering.Assign("model-y|code_execution|code_error", vector, Guid.NewGuid).Cluster;

        Assert.Same(first, again);
        Assert.Equal(2, first.Size);
        Assert.NotEqual(first.Id, otherModel.Id);
    }

    private List<List<string>> Cluster((string Topic, string Text)[] items, double threshold, bool samePrompt)
    {
        var clustering = new CentroidClustering(threshold);
        var vectors = FeedbackEmbedding.Embed(embedder.Embedder,
            items.Select((item, i) => new FeedbackEmbedding.Feedback(item.Text, Prompts[samePrompt ? 0 : i % Prompts.Length], "code_error")).ToList());
        var members = new Dictionary<Guid, List<string>>();
        for (var i = 0; i < items.Length; i++)
        {
            var cluster = clustering.Assign(Group, vectors[i], Guid.NewGuid).Cluster;
            if (!members.TryGetValue(cluster.Id, out var list))
            {
                members[cluster.Id] = list = [];
            }

            list.Add(items[i].Topic);
        }

        return members.Values.ToList();
    }

    private static string Describe(List<List<string>> clusters) =>
        string.Join("; ", clusters.Select(c => "[" + string.Join(", ", c) + "]"));
}

public sealed class EmbedderFixture : IDisposable
{
    public SentenceEmbedder Embedder { get; } = new();

    public void Dispose() => Embedder.Dispose();
}
