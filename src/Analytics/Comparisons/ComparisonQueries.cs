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

public sealed record Leaderboard(string Capability, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<RatedModel> Models);
