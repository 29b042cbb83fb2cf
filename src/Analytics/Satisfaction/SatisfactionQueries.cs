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

    /// <summary>
    /// Every model version with responses: their number from the daily "*" counters, and the first and last response from
    /// the facts of its first and last hour only (found through the daily, then the hourly counters). Exact, and bounded by
    /// the counters' size and one hour's responses, where a <c>group by</c> over the facts reads every response.
    /// </summary>
    public const string ModelsSql = $"""
        with versions as (
            select model_id, model_version, sum(responses)::int8 as responses, min(day) as first_day, max(day) as last_day
            from {SatisfactionProjection.CellDays}
            where capability = '{AllCapabilities}' and responses > 0
            group by 1, 2),
        edges as (
            select v.*,
                (select min(t.hour) from {SatisfactionProjection.CellTotals} t
                 where t.hour >= v.first_day and t.hour < v.first_day + interval '24 hours' and t.model_id = v.model_id
                     and t.model_version = v.model_version and t.capability = '{AllCapabilities}' and t.responses > 0) as first_hour,
                (select max(t.hour) from {SatisfactionProjection.CellTotals} t
                 where t.hour >= v.last_day and t.hour < v.last_day + interval '24 hours' and t.model_id = v.model_id
                     and t.model_version = v.model_version and t.capability = '{AllCapabilities}' and t.responses > 0) as last_hour
            from versions v)
        select e.model_id, e.model_version, e.responses,
            (select min(r.occurred_at) from {SatisfactionProjection.Responses} r
             where r.hour = e.first_hour and r.model_id = e.model_id and r.model_version = e.model_version),
            (select max(r.occurred_at) from {SatisfactionProjection.Responses} r
             where r.hour = e.last_hour and r.model_id = e.model_id and r.model_version = e.model_version)
        from edges e
        order by 1, 2
        """;

    public async Task<IReadOnlyList<ModelVersion>> ModelsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ModelsSql);
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
        await using var command = dataSource.CreateCommand(
            $"select exists(select 1 from {SatisfactionProjection.Responses} where model_id = $1) or exists(select 1 from {SatisfactionProjection.CellTotals} where model_id = $1)");
        command.Parameters.Add(new NpgsqlParameter { Value = modelId });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Where the satisfaction views stand (<see cref="ViewPosition"/>): the projection's position in mt_event_progression
    /// (its one shard, "All"), the store time of that event, and the events stored after it. Three index lookups.
    /// </summary>
    public async Task<ViewPosition> PositionAsync(CancellationToken cancellationToken)
    {
        var schema = Conversations.EventStoreRegistration.SchemaName;
        await using var command = dataSource.CreateCommand($"""
            with progress as (
                select coalesce(min(last_seq_id), 0) as seq from {schema}.mt_event_progression where name = $1)
            select p.seq,
                (select e.timestamp from {schema}.mt_events e where e.seq_id = p.seq),
                greatest(coalesce((select max(e.seq_id) from {schema}.mt_events e), 0) - p.seq, 0),
                extract(epoch from now() - (select e.timestamp from {schema}.mt_events e where e.seq_id > p.seq order by e.seq_id limit 1))::float8
            from progress p
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = SatisfactionRebuild.ProgressionName });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var position = reader.GetInt64(0);
        DateTimeOffset? asOf = reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1);
        var behind = reader.GetInt64(2);
        var seconds = reader.IsDBNull(3) ? 0 : Math.Max(0, reader.GetDouble(3));
        return new ViewPosition(position, asOf, behind > 0 ? new ViewLag(behind, Math.Round(seconds, 3)) : null);
    }

    /// <summary>
    /// The unsliced matrix: whole UTC days of the window from the daily counters, the hours of its partial first
    /// and last day from the hourly ones. Parameters: $1 from, $2 to, $3 model (or null), $4 first whole day,
    /// $5 end of the last whole day (both equal to $2 when the window holds no whole day).
    /// </summary>
    public const string UnslicedMatrixSql = $"""
        select model_id, model_version, capability, sum(responses)::int8, sum(rated)::int8, sum(up)::int8, sum(down)::int8,
            sum(regenerations)::int8, (sum(latency_sum)::float8 / nullif(sum(responses), 0))
        from (
            select model_id, model_version, capability, responses, rated, up, down, regenerations, latency_sum
            from {SatisfactionProjection.CellDays}
            where day >= $4 and day < $5 and ($3::text is null or model_id = $3)
            union all
            select model_id, model_version, capability, responses, rated, up, down, regenerations, latency_sum
            from {SatisfactionProjection.CellTotals}
            where ((hour >= $1 and hour < $4) or (hour >= $5 and hour < $2)) and ($3::text is null or model_id = $3)) counters
        group by 1, 2, 3 having sum(responses) > 0 or sum(up) > 0 or sum(down) > 0 order by 1, 2, 3
        """;

    /// <summary>Model × version × capability cells for [from, to), plus one "*" row per model version, from the counters.</summary>
    public async Task<IReadOnlyList<SatisfactionCell>> MatrixAsync(DateTimeOffset from, DateTimeOffset to, string? modelId,
        SliceFilter slices, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(slices.Any
            ? $"""
                select model_id, model_version, capability, sum(responses)::int8, sum(rated)::int8, sum(up)::int8, sum(down)::int8,
                    sum(regenerations)::int8, (sum(latency_sum)::float8 / nullif(sum(responses), 0))
                from {SatisfactionProjection.Cells}
                where hour >= $1 and hour < $2 and ($3::text is null or model_id = $3) {SliceWhere(slices)}
                group by 1, 2, 3 having sum(responses) > 0 or sum(up) > 0 or sum(down) > 0 order by 1, 2, 3
                """
            : UnslicedMatrixSql);
        if (slices.Any)
        {
            AddParameters(command, from, to, modelId, slices);
        }
        else
        {
            foreach (var value in UnslicedMatrixParameters(from, to, modelId))
            {
                command.Parameters.Add(value);
            }
        }

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

    /// <summary>The parameters of <see cref="UnslicedMatrixSql"/>.</summary>
    public static NpgsqlParameter[] UnslicedMatrixParameters(DateTimeOffset from, DateTimeOffset to, string? modelId)
    {
        var (start, end) = (from.ToUniversalTime(), to.ToUniversalTime());
        var firstDay = start.UtcDateTime.TimeOfDay == TimeSpan.Zero ? start : new DateTimeOffset(start.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var endOfDays = new DateTimeOffset(end.UtcDateTime.Date, TimeSpan.Zero);
        if (firstDay >= endOfDays)
        {
            (firstDay, endOfDays) = (end, end);
        }

        return
        [
            new NpgsqlParameter { Value = start },
            new NpgsqlParameter { Value = end },
            new NpgsqlParameter { Value = (object?)modelId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
            new NpgsqlParameter { Value = firstDay },
            new NpgsqlParameter { Value = endOfDays },
        ];
    }

    public async Task<IReadOnlyList<SatisfactionPoint>> OverTimeAsync(string modelId, string? version, string? capability,
        DateTimeOffset from, DateTimeOffset to, string bucket, SliceFilter slices, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            select date_trunc('{(bucket == "day" ? "day" : "hour")}', hour at time zone 'UTC') at time zone 'UTC' as bucket,
                sum(responses)::int8, sum(rated)::int8, sum(up)::int8, sum(down)::int8
            from {CountersFor(slices)}
            where hour >= $1 and hour < $2 and model_id = $3 {SliceWhere(slices)}
                and ($7::text is null or model_version = $7) and capability = coalesce($8::text, '{AllCapabilities}')
            group by 1 having sum(responses) > 0 or sum(up) > 0 or sum(down) > 0 order by 1
            """);
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

    /// <summary>
    /// Thumbs-down reasons of one model (version, capability; all capabilities when none) in [from, to), most frequent
    /// first: the turns whose response falls in the window and whose current rating is down, per reason, from the reason
    /// counters (sat_cell_reasons).
    /// </summary>
    public async Task<IReadOnlyList<ReasonCount>> ReasonsAsync(string modelId, string? version, string? capability,
        DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            select reason, sum(down)::bigint
            from {SatisfactionProjection.CellReasons}
            where model_id = $3 and capability = coalesce($5::text, '{AllCapabilities}') and hour >= $1 and hour < $2
                and ($4::text is null or model_version = $4)
            group by reason having sum(down) > 0 order by 2 desc, 1
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

    /// <summary>Slice filters on the counters' slice columns: parameters $4 (surface), $5 (custom instructions), $6 (experiment arm).</summary>
    private static string SliceWhere(SliceFilter slices) => slices.Any
        ? "and ($4::text is null or surface = $4) and ($5::text is null or custom_instructions = $5) and ($6::text is null or experiment_arm = $6)"
        : "and ($4::text is null and $5::text is null and $6::text is null)";

    /// <summary>Unsliced questions read the small totals table; a slice filter reads the sliced counters.</summary>
    internal static string CountersFor(SliceFilter slices) => slices.Any ? SatisfactionProjection.Cells : SatisfactionProjection.CellTotals;

    private static void AddParameters(NpgsqlCommand command, DateTimeOffset from, DateTimeOffset to, string? modelId, SliceFilter slices)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)modelId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)slices.Surface ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = slices.CustomInstructions is { } on ? (on ? "true" : "false") : DBNull.Value,
            NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text,
        });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)slices.ExperimentArm ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
    }
}
