namespace Analytics.Triage;

/// <summary>Settings of the triage clusterer (configuration section Triage). See docs/triage.md for why these values.</summary>
public sealed class TriageOptions
{
    public const string Section = "Triage";

    public const double DefaultSimilarityThreshold = 0.45;

    /// <summary>Cosine similarity an item needs to join an existing cluster of its group.</summary>
    public double SimilarityThreshold { get; set; } = DefaultSimilarityThreshold;

    /// <summary>A resolved cluster reopens once it has received this many items after its resolution.</summary>
    public int ReopenAfterItems { get; set; } = 5;

    /// <summary>Events per page the clusterer takes from the store (one embedding batch).</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>False: the worker does not cluster (e.g. to measure ingestion alone).</summary>
    public bool Enabled { get; set; } = true;
}
