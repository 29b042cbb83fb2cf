using Npgsql;

namespace Analytics.Satisfaction;

public sealed record ModelVersion(string ModelId, string Version, long Responses, DateTimeOffset FirstSeen, DateTimeOffset LastSeen);

/// <summary>
/// One cell: a model version on one capability (or "*" = the model version over all capabilities, where a
/// response with two capabilities counts once) over a window. Satisfaction = up among up+down; rating rate
/// = rated among responses; both with Wilson 95% intervals.
/// </summary>
public sealed record SatisfactionCell(
    string ModelId, string Version, string Capability, long Responses, long Rated, long Up, long Down, long Regenerations,
    double? MeanLatencyMs, Proportion Satisfaction, Proportion RatingRate);

public sealed record SatisfactionPoint(DateTimeOffset Bucket, long Responses, long Rated, long Up, long Down, Proportion Satisfaction, Proportion RatingRate);

public sealed record ReasonCount(string Reason, long Count);

/// <summary>Slice filters; null = all.</summary>
public sealed record SliceFilter(string? Surface = null, bool? CustomInstructions = null, string? ExperimentArm = null)
{
    public bool Any => Surface is not null || CustomInstructions is not null || ExperimentArm is not null;
}

/// <summary>The read side of the satisfaction views: ordinary SQL over the sat_ tables.</summary>
public sealed class SatisfactionQueries(NpgsqlDataSource dataSource)
{
    public const string AllCapabilities = "*";

    public async Task<IReadOnlyList<ModelVersion>> ModelsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"select model_id, model_version, count(*), min(occurred_at), max(occurred_at) from {SatisfactionProjection.Responses} group by 1, 2 order by 1, 2");
        var models = new List<ModelVersion>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            models.Add(new ModelVersion(reader.GetString(0), reader.GetString(1), reader.GetInt64(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return models;
    }

    public async Task<bool> ModelExistsAsync(string modelId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select exists(select 1 from {SatisfactionProjection.Responses} where model_id = $1)");
        command.Parameters.Add(new NpgsqlParameter { Value = modelId });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Model × version × capability cells for [from, to), plus one "*" row per model version.</summary>
    public async Task<IReadOnlyList<SatisfactionCell>> MatrixAsync(DateTimeOffset from, DateTimeOffset to, string? modelId,
        SliceFilter slices, CancellationToken cancellationToken)
    {
        var sql = $"""
            with cells as (
                select r.model_id, r.model_version, c.capability, r.regenerated_from, r.latency_ms, g.rating
                from {SatisfactionProjection.Responses} r
                cross join lateral (select unnest(r.capabilities) union all select '{AllCapabilities}') as c(capability)
                left join {SatisfactionProjection.Ratings} g on g.turn_id = r.turn_id
                {SliceJoin(slices)}
                where r.hour >= $1 and r.hour < $2 and ($3::text is null or r.model_id = $3) {SliceWhere(slices, 4)})
            select model_id, model_version, capability, count(*),
                count(*) filter (where rating in ('up', 'down')), count(*) filter (where rating = 'up'),
                count(*) filter (where rating = 'down'), count(*) filter (where regenerated_from is not null), avg(latency_ms)::float8
            from cells group by 1, 2, 3 order by 1, 2, 3
            """;
        await using var command = dataSource.CreateCommand(sql);
        AddParameters(command, from, to, modelId, slices);
        var cells = new List<SatisfactionCell>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var (responses, rated, up, down) = (reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
            cells.Add(new SatisfactionCell(reader.GetString(0), reader.GetString(1), reader.GetString(2), responses, rated, up, down,
                reader.GetInt64(7), reader.IsDBNull(8) ? null : reader.GetDouble(8),
                Proportion.Of(up, up + down), Proportion.Of(rated, responses)));
        }

        return cells;
    }

    public async Task<IReadOnlyList<SatisfactionPoint>> OverTimeAsync(string modelId, string? version, string? capability,
        DateTimeOffset from, DateTimeOffset to, string bucket, SliceFilter slices, CancellationToken cancellationToken)
    {
        var sql = $"""
            select date_trunc('{(bucket == "day" ? "day" : "hour")}', r.hour at time zone 'UTC') at time zone 'UTC' as bucket, count(*),
                count(*) filter (where g.rating in ('up', 'down')), count(*) filter (where g.rating = 'up'), count(*) filter (where g.rating = 'down')
            from {SatisfactionProjection.Responses} r
            left join {SatisfactionProjection.Ratings} g on g.turn_id = r.turn_id
            {SliceJoin(slices)}
            where r.hour >= $1 and r.hour < $2 and r.model_id = $3 {SliceWhere(slices, 4)}
                and (${SliceParameterCount(slices) + 4}::text is null or r.model_version = ${SliceParameterCount(slices) + 4})
                and (${SliceParameterCount(slices) + 5}::text is null or ${SliceParameterCount(slices) + 5} = any(r.capabilities))
            group by 1 order by 1
            """;
        await using var command = dataSource.CreateCommand(sql);
        AddParameters(command, from, to, modelId, slices);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)version ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)capability ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var points = new List<SatisfactionPoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var (responses, rated, up, down) = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
            points.Add(new SatisfactionPoint(new DateTimeOffset(reader.GetDateTime(0), TimeSpan.Zero), responses, rated, up, down,
                Proportion.Of(up, up + down), Proportion.Of(rated, responses)));
        }

        return points;
    }

    /// <summary>Thumbs-down reasons of one model (version, capability) in [from, to), most frequent first.</summary>
    public async Task<IReadOnlyList<ReasonCount>> ReasonsAsync(string modelId, string? version, string? capability,
        DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            select reason, count(*)
            from {SatisfactionProjection.Ratings} g
            join {SatisfactionProjection.Responses} r on r.turn_id = g.turn_id
            cross join lateral unnest(g.reasons) as reason
            where g.rating = 'down' and r.hour >= $1 and r.hour < $2 and r.model_id = $3
                and ($4::text is null or r.model_version = $4) and ($5::text is null or $5 = any(r.capabilities))
            group by 1 order by 2 desc, 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = modelId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)version ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)capability ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var reasons = new List<ReasonCount>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            reasons.Add(new ReasonCount(reader.GetString(0), reader.GetInt64(1)));
        }

        return reasons;
    }

    private static string SliceJoin(SliceFilter slices) =>
        slices.Any ? $"join {SatisfactionProjection.Conversations} v on v.conversation_id = r.conversation_id" : string.Empty;

    private static int SliceParameterCount(SliceFilter slices) => slices.Any ? 3 : 0;

    private static string SliceWhere(SliceFilter slices, int first) => slices.Any
        ? $"and (${first}::text is null or v.surface = ${first}) and (${first + 1}::bool is null or v.custom_instructions = ${first + 1}) and (${first + 2}::text is null or v.experiment_arm = ${first + 2})"
        : string.Empty;

    private static void AddParameters(NpgsqlCommand command, DateTimeOffset from, DateTimeOffset to, string? modelId, SliceFilter slices)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)modelId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        if (slices.Any)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)slices.Surface ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)slices.CustomInstructions ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)slices.ExperimentArm ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        }
    }
}
