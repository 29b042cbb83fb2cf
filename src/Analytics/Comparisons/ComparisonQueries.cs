using System.Collections.Concurrent;
using Analytics.Satisfaction;
using Npgsql;

namespace Analytics.Comparisons;

/// <summary>Pairwise outcomes from the pair counters; models are named "id@version".</summary>
public sealed class ComparisonQueries(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Outcome counts per unordered model pair (A is the alphabetically first), for one capability or all, of the
    /// comparisons made in [from, to): sums of the pair counters (sat_pair_counts).
    /// </summary>
    public async Task<IReadOnlyList<PairOutcome>> PairsAsync(string? capability, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            select model_x, model_y, sum(x_wins)::bigint, sum(y_wins)::bigint, sum(ties)::bigint, sum(both_bad)::bigint
            from {SatisfactionProjection.PairCounts}
            where capability = coalesce($3::text, '{SatisfactionQueries.AllCapabilities}') and hour >= $1 and hour < $2
            group by 1, 2 order by 1, 2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)capability ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var pairs = new List<PairOutcome>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pairs.Add(new PairOutcome(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }

        return pairs;
    }
}

/// <summary>A head-to-head line: A's share of the comparisons (ties and both-bad as half) with its Wilson interval.</summary>
public sealed record HeadToHead(string ModelA, string ModelB, long AWins, long BWins, long Ties, long BothBad, Proportion AWinShare)
{
    public static HeadToHead From(PairOutcome p) => new(p.ModelA, p.ModelB, p.AWins, p.BWins, p.Ties, p.BothBad,
        Proportion.Of((long)Math.Round(p.AWins + (p.Ties + p.BothBad) / 2.0), p.Total));
}

/// <summary>
/// The leaderboard answer: the envelope of every aggregate answer (<see cref="WindowedAnswer{T}"/>: effective window,
/// bucket, requested window, asOf, position, lag), then the capability ("*" = all), the anchor (rated 1000 exactly), the
/// leader (highest rating), the bootstrap rounds, the comparisons in the window, and the rated models, best rank first.
/// </summary>
public sealed record LeaderboardAnswer(
    DateTimeOffset From, DateTimeOffset To, string Bucket, DateTimeOffset RequestedFrom, DateTimeOffset RequestedTo,
    DateTimeOffset? AsOf, long Position, ViewLag? Lag,
    string Capability, string? Anchor, string? Leader, int Bootstrap, long Comparisons, IReadOnlyList<RatedModel> Items);

/// <summary>
/// Leaderboards computed once per (effective window, capability, anchor, rounds, projection position): the pair counters
/// cannot change while the position stays, so a repeated question is answered from memory. Concurrent misses of one key
/// share one computation. Bounded: past <see cref="Capacity"/> entries the cache starts again empty.
/// </summary>
public sealed class LeaderboardCache
{
    public const int Capacity = 256;

    private readonly ConcurrentDictionary<Key, Lazy<Task<(IReadOnlyList<PairOutcome> Pairs, RatedBoard? Board)>>> _entries = new();

    public readonly record struct Key(DateTimeOffset From, DateTimeOffset To, string Capability, string? Anchor, int Rounds, long Position);

    /// <summary>The pairs of the key's window and their board (null when the anchor is not among them).</summary>
    public async Task<(IReadOnlyList<PairOutcome> Pairs, RatedBoard? Board)> GetAsync(Key key,
        Func<Task<(IReadOnlyList<PairOutcome>, RatedBoard?)>> compute)
    {
        if (_entries.Count >= Capacity)
        {
            _entries.Clear();
        }

        var entry = _entries.GetOrAdd(key, _ => new Lazy<Task<(IReadOnlyList<PairOutcome>, RatedBoard?)>>(compute));
        try
        {
            return await entry.Value;
        }
        catch
        {
            _entries.TryRemove(new KeyValuePair<Key, Lazy<Task<(IReadOnlyList<PairOutcome>, RatedBoard?)>>>(key, entry));
            throw;
        }
    }
}
