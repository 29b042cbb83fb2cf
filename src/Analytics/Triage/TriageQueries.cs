using Npgsql;

namespace Analytics.Triage;

/// <summary>A cluster as listed: its group, label, size, growth (this window vs the one before) and triage state.</summary>
public sealed record ClusterSummary(
    Guid ClusterId,
    string ModelId,
    string Capability,
    string Reason,
    string Label,
    int Size,
    int ThisWindow,
    int LastWindow,
    double? Growth,
    bool IsNew,
    bool IsGrowing,
    string State,
    string? Severity,
    string? Category,
    string? Assignee,
    string? FixReference,
    long Version,
    DateTimeOffset OpenedAt,
    DateTimeOffset FirstItemAt,
    DateTimeOffset LastItemAt);

public sealed record ClusterSample(Guid TurnId, Guid ConversationId, string ModelVersion, string? Comment, string? PromptExcerpt,
    IReadOnlyList<string> Reasons, double Similarity, DateTimeOffset OccurredAt);

public sealed record DailySize(DateOnly Day, int Items);

public sealed record ClusterDetail(ClusterSummary Cluster, DateTimeOffset AsOf, IReadOnlyList<ClusterSample> Samples, IReadOnlyList<DailySize> Daily);

public sealed record ClusterFilter(string? Model, string? Capability, string? Severity, string? State);

/// <summary>Reads of the cluster tables (tri_*). Windows are 24 hours, ending at the latest clustered feedback unless told.</summary>
public sealed class TriageQueries(NpgsqlDataSource dataSource)
{
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    /// <summary>A cluster is growing fast when its window holds at least this many items and twice the window before.</summary>
    public const int GrowingMinItems = 5;

    public const int SampleCount = 5;

    /// <summary>Items looked at (latest first) to pick a cluster's most central samples.</summary>
    private const int SampleCandidates = 500;

    public static readonly IReadOnlyDictionary<string, string> SortOrders = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["size"] = "size desc",
        ["growth"] = "this_window - last_window desc, size desc",
        ["severity"] = "severity asc nulls last, size desc",
        ["recent"] = "last_item_at desc",
    };

    private const string SummaryColumns = """
        c.cluster_id, c.model_id, c.capability, c.reason, c.label, c.size, coalesce(w.this_window, 0)::int as this_window,
        coalesce(w.last_window, 0)::int as last_window, c.state, c.severity, c.category, c.assignee, c.fix_reference, c.triage_version,
        c.opened_at, c.first_item_at, c.last_item_at
        """;

    private static string WindowJoin(string asOf) => $"""
        left join lateral (
            select count(*) filter (where i.occurred_at > {asOf} - interval '24 hours') as this_window,
                   count(*) filter (where i.occurred_at <= {asOf} - interval '24 hours') as last_window
            from {TriageTables.Items} i
            where i.cluster_id = c.cluster_id and i.occurred_at > {asOf} - interval '48 hours' and i.occurred_at <= {asOf}) w on true
        """;

    /// <summary>
    /// The end of the growth windows when none is given: the latest clustered feedback, never later than now (a producer's
    /// clock ahead of ours does not move the windows), now when there is none.
    /// </summary>
    public async Task<DateTimeOffset> LatestAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"select least(max(last_item_at), now()) from {TriageTables.Clusters}");
        return await command.ExecuteScalarAsync(ct) is DateTime latest ? new DateTimeOffset(latest, TimeSpan.Zero) : DateTimeOffset.UtcNow;
    }

    public async Task<IReadOnlyList<ClusterSummary>> ListAsync(ClusterFilter filter, string sort, int limit, DateTimeOffset asOf, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select {SummaryColumns} from {TriageTables.Clusters} c {WindowJoin("$1")}
            where ($2::text is null or c.model_id = $2) and ($3::text is null or c.capability = $3)
              and ($4::text is null or coalesce(c.severity, 'none') = $4) and ($5::text is null or c.state = $5)
            order by {SortOrders[sort]}, c.cluster_id
            limit $6
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = asOf.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Model ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Capability ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Severity ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.State ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        return await ReadSummariesAsync(command, asOf, ct);
    }

    public async Task<ClusterSummary?> FindAsync(Guid clusterId, DateTimeOffset asOf, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"select {SummaryColumns} from {TriageTables.Clusters} c {WindowJoin("$1")} where c.cluster_id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = asOf.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = clusterId });
        return (await ReadSummariesAsync(command, asOf, ct)).SingleOrDefault();
    }

    /// <summary>The cluster's size as the clusterer counted it; null for an unknown cluster.</summary>
    public async Task<int?> SizeAsync(Guid clusterId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"select size from {TriageTables.Clusters} where cluster_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = clusterId });
        return await command.ExecuteScalarAsync(ct) is int size ? size : null;
    }

    public async Task<ClusterDetail?> DetailAsync(Guid clusterId, DateTimeOffset asOf, CancellationToken ct)
    {
        if (await FindAsync(clusterId, asOf, ct) is not { } summary)
        {
            return null;
        }

        return new ClusterDetail(summary, asOf, await SamplesAsync(clusterId, ct), await DailyAsync(clusterId, ct));
    }

    /// <summary>The representative samples: the items closest to the centroid (cosine), one per distinct comment and prompt.</summary>
    private async Task<IReadOnlyList<ClusterSample>> SamplesAsync(Guid clusterId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select i.turn_id, i.conversation_id, i.model_version, i.comment, i.prompt_excerpt, i.reasons, i.occurred_at, i.embedding, c.centroid
            from {TriageTables.Items} i join {TriageTables.Clusters} c using (cluster_id)
            where i.cluster_id = $1 order by i.occurred_at desc limit $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = clusterId });
        command.Parameters.Add(new NpgsqlParameter { Value = SampleCandidates });
        var candidates = new List<ClusterSample>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var similarity = CentroidClustering.Dot(reader.GetFieldValue<float[]>(8), reader.GetFieldValue<float[]>(7));
            candidates.Add(new ClusterSample(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetFieldValue<string[]>(5), Math.Round(similarity, 4), reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return candidates.OrderByDescending(s => s.Comment is not null).ThenByDescending(s => s.Similarity)
            .DistinctBy(s => (s.Comment, s.PromptExcerpt)).Take(SampleCount).ToList();
    }

    private async Task<IReadOnlyList<DailySize>> DailyAsync(Guid clusterId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select (occurred_at at time zone 'UTC')::date as day, count(*)::int from {TriageTables.Items}
            where cluster_id = $1 group by 1 order by 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = clusterId });
        var days = new List<DailySize>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            days.Add(new DailySize(reader.GetFieldValue<DateOnly>(0), reader.GetInt32(1)));
        }

        return days;
    }

    private static async Task<IReadOnlyList<ClusterSummary>> ReadSummariesAsync(NpgsqlCommand command, DateTimeOffset asOf, CancellationToken ct)
    {
        var clusters = new List<ClusterSummary>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var (thisWindow, lastWindow) = (reader.GetInt32(6), reader.GetInt32(7));
            var firstItemAt = reader.GetFieldValue<DateTimeOffset>(15);
            clusters.Add(new ClusterSummary(
                reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetInt32(5),
                thisWindow, lastWindow,
                Growth: lastWindow > 0 ? Math.Round((double)thisWindow / lastWindow, 3) : null,
                IsNew: firstItemAt > asOf - Window,
                IsGrowing: IsGrowing(thisWindow, lastWindow),
                State: reader.GetString(8),
                Severity: reader.IsDBNull(9) ? null : reader.GetString(9),
                Category: reader.IsDBNull(10) ? null : reader.GetString(10),
                Assignee: reader.IsDBNull(11) ? null : reader.GetString(11),
                FixReference: reader.IsDBNull(12) ? null : reader.GetString(12),
                Version: reader.GetInt64(13),
                OpenedAt: reader.GetFieldValue<DateTimeOffset>(14),
                FirstItemAt: firstItemAt,
                LastItemAt: reader.GetFieldValue<DateTimeOffset>(16)));
        }

        return clusters;
    }

    public static bool IsGrowing(int thisWindow, int lastWindow) => thisWindow >= GrowingMinItems && thisWindow >= 2 * lastWindow;
}
