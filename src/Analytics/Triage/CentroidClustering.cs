namespace Analytics.Triage;

/// <summary>
/// Online centroid assignment, one set of clusters per group (model × capability × reason): an item joins the
/// cluster of its group whose centroid is most similar (cosine) if that similarity reaches the threshold, and
/// opens a new cluster otherwise. A centroid is the normalised running mean of its items, so it drifts with
/// what the cluster collects but a cluster never changes id, never merges and never splits. See docs/triage.md.
/// </summary>
public sealed class CentroidClustering(double threshold)
{
    private readonly Dictionary<string, List<Cluster>> _groups = new(StringComparer.Ordinal);

    public double Threshold { get; } = threshold;

    public IEnumerable<Cluster> Clusters => _groups.Values.SelectMany(g => g);

    public sealed class Cluster(Guid id, string group, float[] centroid, int size, bool opened)
    {
        public Guid Id { get; } = id;

        public string Group { get; } = group;

        public float[] Centroid { get; private set; } = centroid;

        public int Size { get; private set; } = size;

        /// <summary>True when this cluster was opened by <see cref="Assign"/> (not loaded).</summary>
        public bool Opened { get; } = opened;

        /// <summary>True when an item joined it since it was loaded or opened.</summary>
        public bool Changed { get; private set; } = opened;

        internal void Add(float[] vector)
        {
            var merged = new float[Centroid.Length];
            for (var i = 0; i < merged.Length; i++)
            {
                merged[i] = ((Centroid[i] * Size) + vector[i]) / (Size + 1);
            }

            Normalize(merged);
            Centroid = merged;
            Size++;
            Changed = true;
        }
    }

    public void Load(Guid id, string group, float[] centroid, int size) => GroupOf(group).Add(new Cluster(id, group, centroid, size, opened: false));

    /// <summary>Puts a unit-length vector into a cluster of its group; returns the cluster and the item's similarity to its centroid.</summary>
    public (Cluster Cluster, double Similarity) Assign(string group, float[] vector, Func<Guid> newId)
    {
        var clusters = GroupOf(group);
        Cluster? best = null;
        var bestSimilarity = double.NegativeInfinity;
        foreach (var cluster in clusters)
        {
            var similarity = Dot(cluster.Centroid, vector);
            if (similarity > bestSimilarity)
            {
                (best, bestSimilarity) = (cluster, similarity);
            }
        }

        if (best is not null && bestSimilarity >= Threshold)
        {
            best.Add(vector);
            return (best, bestSimilarity);
        }

        var opened = new Cluster(newId(), group, (float[])vector.Clone(), 1, opened: true);
        clusters.Add(opened);
        return (opened, 1.0);
    }

    public static double Dot(float[] a, float[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    public static void Normalize(float[] vector)
    {
        var norm = Math.Sqrt(Dot(vector, vector));
        if (norm > 0)
        {
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] = (float)(vector[i] / norm);
            }
        }
    }

    private List<Cluster> GroupOf(string group)
    {
        if (!_groups.TryGetValue(group, out var clusters))
        {
            clusters = [];
            _groups[group] = clusters;
        }

        return clusters;
    }
}
