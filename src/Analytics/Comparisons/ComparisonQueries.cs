using Analytics.Satisfaction;
using Npgsql;

namespace Analytics.Comparisons;

/// <summary>Pairwise outcomes from sat_comparisons; models are named "id@version".</summary>
public sealed class ComparisonQueries(NpgsqlDataSource dataSource)
{
    /// <summary>Outcome counts per unordered model pair (A is the alphabetically first), for one capability or all.</summary>
    public async Task<IReadOnlyList<PairOutcome>> PairsAsync(string? capability, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            with c as (
                select a_model_id || '@' || a_model_version as a, b_model_id || '@' || b_model_version as b, preferred
                from {SatisfactionProjection.Comparisons}
                where hour >= $1 and hour < $2 and ($3::text is null or $3 = any(capabilities))),
            oriented as (
                select least(a, b) as x, greatest(a, b) as y,
                    case when preferred = 'tie' or preferred = 'both_bad' then preferred
                         when (preferred = 'a') = (a <= b) then 'x' else 'y' end as outcome
                from c where a <> b)
            select x, y, count(*) filter (where outcome = 'x'), count(*) filter (where outcome = 'y'),
                count(*) filter (where outcome = 'tie'), count(*) filter (where outcome = 'both_bad')
            from oriented group by 1, 2 order by 1, 2
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
