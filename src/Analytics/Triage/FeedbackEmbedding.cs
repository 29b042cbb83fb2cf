namespace Analytics.Triage;

/// <summary>
/// The vector of one thumbs-down: the comment says what went wrong, the prompt excerpt what it was about, so the two
/// are embedded separately and mixed with the comment weighing <see cref="CommentWeight"/> (a shared prompt must not
/// pull different complaints together). Either alone when the other is missing; the reason when both are.
/// Identical texts in a batch are embedded once (prompts and short comments repeat a lot).
/// </summary>
public static class FeedbackEmbedding
{
    public const float CommentWeight = 0.85f;

    public sealed record Feedback(string? Comment, string? Prompt, string Reason);

    public static float[][] Embed(SentenceEmbedder embedder, IReadOnlyList<Feedback> items, CancellationToken cancellationToken = default, float commentWeight = CommentWeight)
    {
        static string? Text(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

        var texts = items.SelectMany(i => new[] { Text(i.Comment), Text(i.Prompt), Text(i.Comment) is null && Text(i.Prompt) is null ? i.Reason.Replace('_', ' ') : null })
            .OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
        var vectors = embedder.Embed(texts, cancellationToken);
        var byText = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (var i = 0; i < texts.Length; i++)
        {
            byText[texts[i]] = vectors[i];
        }

        return items.Select(item => (Text(item.Comment), Text(item.Prompt)) switch
        {
            (string comment, string prompt) => Mix(byText[comment], byText[prompt], commentWeight),
            (string comment, null) => (float[])byText[comment].Clone(),
            (null, string prompt) => (float[])byText[prompt].Clone(),
            _ => (float[])byText[item.Reason.Replace('_', ' ')].Clone(),
        }).ToArray();
    }

    private static float[] Mix(float[] comment, float[] prompt, float commentWeight)
    {
        var mixed = new float[comment.Length];
        for (var i = 0; i < mixed.Length; i++)
        {
            mixed[i] = (commentWeight * comment[i]) + ((1 - commentWeight) * prompt[i]);
        }

        CentroidClustering.Normalize(mixed);
        return mixed;
    }
}
