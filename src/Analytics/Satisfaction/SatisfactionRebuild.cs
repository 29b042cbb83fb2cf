using System.Diagnostics;
using Analytics.Contracts;
using Analytics.Conversations;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Analytics.Satisfaction;

/// <summary>
/// Rebuilds the satisfaction views set-based, straight from mt_events: the tables are emptied, then the events are
/// replayed in chunks of <see cref="ChunkEvents"/> by sequence, each chunk by one statement with its progression in one
/// transaction. The statement is the daemon's page statement (<see cref="SatisfactionPageSql.Tail"/>) over input rows
/// that SQL folds from the events' JSON the way <see cref="SatisfactionPage"/> folds a page in memory, so a chunk counts
/// exactly as a daemon page of the same events would; the row-for-row tests hold the two to the same tables.
/// <para>
/// Why: Marten's daemon loads a page, applies it, commits and only then loads the next (about 14,000 events/s at 10M
/// events here); this reads each event once inside PostgreSQL. While it runs it holds the daemon's leadership lock, so
/// no projection worker runs the projection at the same time (they wait and take over afterwards), and it stops at
/// a sequence below which every transaction has ended, so the daemon resumes without a gap.
/// </para>
/// </summary>
public sealed class SatisfactionRebuild(IDocumentStore store, NpgsqlDataSource dataSource, ILogger<SatisfactionRebuild> logger)
{
    /// <summary>Events per statement: large enough that the per-statement lookups of stored rows are few, small enough to report progress.</summary>
    public const int ChunkEvents = 500_000;

    /// <summary>The projection's name (its shard is "All"; its row in mt_event_progression is "name:All").</summary>
    public static readonly string ProjectionName = typeof(SatisfactionProjection).FullName!;

    public static readonly string ProgressionName = ProjectionName + ":All";

    /// <summary>The projection's tables with their primary keys (the order in which to compare them row for row).</summary>
    public static readonly IReadOnlyList<(string Table, string Key)> TableKeys = SatisfactionTables.Keys();

    public sealed record Progress(long Replayed, long Ceiling, TimeSpan Elapsed);

    /// <param name="Ceiling">The last sequence replayed: the projection's progression afterwards.</param>
    public sealed record Result(long Ceiling, int Chunks, TimeSpan Elapsed);

    public async Task<Result> RunAsync(Action<Progress>? progress, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var schema = EventStoreRegistration.SchemaName;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var options = ((DocumentStore)store).Options;
        await using var leadership = await DaemonLeadership.TakeAsync(connection, options, cancellationToken);
        var ceiling = await SettledCeilingAsync(connection, cancellationToken);
        logger.LogInformation("Rebuilding the satisfaction views set-based over events 1..{Ceiling}", ceiling);

        await using (var reset = new NpgsqlBatch(connection))
        {
            reset.BatchCommands.Add(new($"truncate {string.Join(", ", TableKeys.Select(t => t.Table))}"));
            reset.BatchCommands.Add(new($"""
                insert into {schema}.mt_event_progression (name, last_seq_id, last_updated) values ($1, 0, now())
                on conflict (name) do update set last_seq_id = 0, last_updated = now()
                """) { Parameters = { new() { Value = ProgressionName } } });
            await reset.ExecuteNonQueryAsync(cancellationToken);
        }

        var sql = ReplaySql(options);
        long floor = 0;
        var chunks = 0;
        while (floor < ceiling)
        {
            var top = Math.Min(floor + ChunkEvents, ceiling);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var replay = new NpgsqlBatch(connection, transaction))
            {
                // A chunk's sorts and groupings hold ~500,000 rows: in memory, not spilled. No JIT: the plan's estimates put it
                // far above jit_above_cost, and compiling it took ~2 s of a ~15 s chunk.
                replay.BatchCommands.Add(new("set local work_mem = '512MB'"));
                replay.BatchCommands.Add(new("set local jit = off"));
                replay.BatchCommands.Add(new(sql) { Parameters = { new() { Value = floor }, new() { Value = top } } });
                replay.BatchCommands.Add(new(SatisfactionPageSql.DeleteSpentRows));
                replay.BatchCommands.Add(new($"update {schema}.mt_event_progression set last_seq_id = $2, last_updated = now() where name = $1")
                {
                    Parameters = { new() { Value = ProgressionName }, new() { Value = top } },
                });
                replay.Timeout = 0;
                await replay.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            floor = top;
            chunks++;
            progress?.Invoke(new Progress(floor, ceiling, started.Elapsed));
        }

        logger.LogInformation("Rebuilt the satisfaction views over events 1..{Ceiling} in {Chunks} chunks, {Seconds:0.0} s", ceiling, chunks,
            started.Elapsed.TotalSeconds);
        return new Result(ceiling, chunks, started.Elapsed);
    }

    /// <summary>
    /// The highest stored sequence below which no transaction is still running: the sequence is read, then the
    /// transactions that were in progress at that moment (one of them may hold a lower sequence, not yet visible) are
    /// waited for. The daemon goes on from there and sees everything above it.
    /// </summary>
    private static async Task<long> SettledCeilingAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        long ceiling;
        ulong[] running;
        await using (var read = new NpgsqlCommand(
            $"select coalesce(max(seq_id), 0), array(select pg_snapshot_xip(pg_current_snapshot())::text::bigint) from {EventStoreRegistration.SchemaName}.mt_events",
            connection))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            ceiling = reader.GetInt64(0);
            running = reader.GetFieldValue<long[]>(1).Select(x => (ulong)x).ToArray();
        }

        var wait = Stopwatch.StartNew();
        while (running.Length > 0)
        {
            await using var check = new NpgsqlCommand(
                "select count(*) from unnest($1::bigint[]) x where pg_xact_status(x::text::xid8) = 'in progress'", connection)
            {
                Parameters = { new() { Value = running.Select(x => (long)x).ToArray() } },
            };
            if ((long)(await check.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                break;
            }

            if (wait.Elapsed > TimeSpan.FromMinutes(1))
            {
                throw new TimeoutException("transactions that may hold events below the rebuild's ceiling are still running after a minute");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }

        return ceiling;
    }

    /// <summary>
    /// The page statement over the events with floor &lt; seq_id ≤ top ($1, $2), folded in SQL as
    /// <see cref="SatisfactionPage"/> folds a page: the first start of a conversation and the first copy of a response
    /// win; for a rating or a comparison the latest occurredAt wins, the later event on a tie; a response takes its
    /// slice from its conversation's start when that came before it. Enum names are mapped with the same C# functions the
    /// page uses (<see cref="WireNames.Wire(Rating)"/> and the others), and timestamps are cut to microseconds
    /// as Npgsql writes them (PostgreSQL's own parser would round a 7th digit).
    /// </summary>
    public static string ReplaySql(StoreOptions options)
    {
        var events = (EventGraph)options.Events;
        string TypeName<T>() => events.EventMappingFor(typeof(T)).EventTypeName;
        var started = TypeName<ConversationStartedRecorded>();
        var response = TypeName<ResponseGeneratedRecorded>();
        var rated = TypeName<ResponseRatedRecorded>();
        var compared = TypeName<ResponsesComparedRecorded>();
        var mtEvents = $"{EventStoreRegistration.SchemaName}.mt_events";

        // One pass over the chunk's events, each read once into the narrow typed columns the page needs (the whole JSON of
        // 500,000 events would spill the CTE to disk and be read back once per event type).
        var inputs = $"""
            with chunk as materialized (
                select seq_id, stream_id, type, coalesce((data->>'turnId')::uuid, (data->>'comparisonId')::uuid) as id,
                    {Time("data->>'occurredAt'")} as occurred_at,
                    data->'model'->>'id' as model_id, data->'model'->>'version' as model_version, data->'model'->>'variant' as model_variant,
                    case when type <> '{started}' then {DistinctList("data->'capabilities'")} end as capabilities,
                    case when type in ('{rated}', '{compared}') then {WireList<FeedbackReason>("data->'reasons'", r => WireNames.Wire([r])[0])} end
                        as reasons,
                    data->>'surface' as surface, data->>'locale' as locale, (data->'personalization'->>'customInstructions')::bool as custom_instructions,
                    data->'experiment'->>'id' as experiment_id, data->'experiment'->>'arm' as experiment_arm,
                    (data->>'turnIndex')::int as turn_index, (data->>'latencyMs')::int as latency_ms, data->>'regeneratedFrom' as regenerated_from,
                    data->>'promptExcerpt' as prompt_excerpt, data->>'responseExcerpt' as response_excerpt,
                    {Wire<Rating>("data->>'rating'", WireNames.Wire)} as rating, data->>'comment' as comment,
                    (data->'candidates'->0->>'turnId')::uuid as a_turn_id, data->'candidates'->0->'model'->>'id' as a_model_id,
                    data->'candidates'->0->'model'->>'version' as a_model_version,
                    (data->'candidates'->1->>'turnId')::uuid as b_turn_id, data->'candidates'->1->'model'->>'id' as b_model_id,
                    data->'candidates'->1->'model'->>'version' as b_model_version,
                    {Wire<Preference>("data->>'preferred'", WireNames.Wire)} as preferred
                from {mtEvents}
                where seq_id > $1 and seq_id <= $2 and type in ('{started}', '{response}', '{rated}', '{compared}')),
            starts as (
                select distinct on (stream_id) stream_id as conversation_id, seq_id, occurred_at, surface, locale, custom_instructions,
                    experiment_id, experiment_arm
                from chunk where type = '{started}' order by stream_id, seq_id),
            conversation_rows as (
                select conversation_id, occurred_at as started_at, surface, locale, custom_instructions, experiment_id, experiment_arm from starts),
            response_rows as (
                select r.id as turn_id, r.stream_id as conversation_id, r.occurred_at,
                    date_trunc('hour', r.occurred_at at time zone 'UTC') at time zone 'UTC' as hour, r.model_id, r.model_version, r.model_variant,
                    r.capabilities, r.turn_index, r.latency_ms, r.regenerated_from, r.prompt_excerpt, r.response_excerpt,
                    s.surface as page_surface,
                    case when s.conversation_id is null then null else s.custom_instructions::text end as page_custom_instructions,
                    case when s.conversation_id is null then null else coalesce(s.experiment_arm, '{SatisfactionProjection.Unknown}') end
                        as page_experiment_arm
                from (select distinct on (id) * from chunk where type = '{response}' order by id, seq_id) r
                left join starts s on s.conversation_id = r.stream_id and s.seq_id < r.seq_id),
            rating_rows as (
                select distinct on (id) id as turn_id, first_value(stream_id) over (partition by id order by seq_id) as conversation_id,
                    occurred_at, rating, reasons, comment, model_id, model_version, capabilities
                from chunk where type = '{rated}' order by id, occurred_at desc, seq_id desc),
            comparison_rows as (
                select f.id as comparison_id, f.stream_id as conversation_id, l.occurred_at,
                    date_trunc('hour', f.occurred_at at time zone 'UTC') at time zone 'UTC' as hour, f.a_turn_id, f.a_model_id, f.a_model_version,
                    f.b_turn_id, f.b_model_id, f.b_model_version, l.preferred, f.capabilities, l.reasons
                from (select distinct on (id) * from chunk where type = '{compared}' order by id, seq_id) f
                join (select distinct on (id) * from chunk where type = '{compared}' order by id, occurred_at desc, seq_id desc) l on l.id = f.id),
            """;
        return inputs + "\n" + SatisfactionPageSql.Tail(
            ratedWithoutResponse: "array(select turn_id from rating_rows except select turn_id from response_rows)",
            touched: "array(select turn_id from response_rows union select turn_id from rating_rows)");
    }

    /// <summary>
    /// The advisory lock a HotCold daemon holds while it runs the projection's shard (JasperFx's
    /// <see cref="ProjectionLockIds"/>, one lock per shard with one database): held for the whole rebuild, so no
    /// projection worker runs the projection meanwhile; refused with the holder named when one already runs it.
    /// </summary>
    private sealed class DaemonLeadership(NpgsqlConnection connection, long lockId) : IAsyncDisposable
    {
        public static async Task<DaemonLeadership> TakeAsync(NpgsqlConnection connection, StoreOptions options, CancellationToken cancellationToken)
        {
            long lockId = ProjectionLockIds.Compute(((EventGraph)options.Events).DatabaseSchemaName, new ShardName(ProjectionName),
                options.Projections.DaemonLockId);
            await using var take = new NpgsqlCommand("select pg_try_advisory_lock($1)", connection) { Parameters = { new() { Value = lockId } } };
            if ((bool)(await take.ExecuteScalarAsync(cancellationToken))!)
            {
                return new DaemonLeadership(connection, lockId);
            }

            await using var holder = new NpgsqlCommand("""
                select string_agg(format('backend %s of %s (%s)', l.pid, coalesce(nullif(a.application_name, ''), 'an application'),
                    coalesce(host(a.client_addr), 'local socket')), ', ')
                from pg_locks l left join pg_stat_activity a on a.pid = l.pid
                where l.locktype = 'advisory' and l.granted and l.classid = ($1 >> 32)::oid and l.objid = ($1 & 4294967295)::oid
                    and l.objsubid = 1 and l.database = (select oid from pg_database where datname = current_database())
                """, connection) { Parameters = { new() { Value = lockId } } };
            var who = await holder.ExecuteScalarAsync(cancellationToken) as string;
            throw new InvalidOperationException(
                $"A projection daemon is running the satisfaction projection ({who ?? "holder not found"}; advisory lock {lockId}). " +
                "Stop the projection workers (the hosts with Projections:RunDaemon) and run the rebuild again; they take the projection over when it is done.");
        }

        public async ValueTask DisposeAsync()
        {
            await using var release = new NpgsqlCommand("select pg_advisory_unlock($1)", connection) { Parameters = { new() { Value = lockId } } };
            await release.ExecuteNonQueryAsync();
        }
    }

    /// <summary>An ISO 8601 text as timestamptz, cut (not rounded) to microseconds.</summary>
    private static string Time(string text) =>
        $@"(case when {text} ~ '\.\d{{7}}' then regexp_replace({text}, '(\.\d{{6}})\d+', '\1') else {text} end)::timestamptz";

    /// <summary>A JSON array of strings as one text, without repeats, in first-seen order, joined as the page joins lists.</summary>
    private static string DistinctList(string array) =>
        $"array_to_string(array(select v from jsonb_array_elements_text({array}) with ordinality as t(v, n) group by v order by min(n)), {SatisfactionPageColumns.ListSeparatorSql})";

    /// <summary>A stored enum name (the C# member name) mapped to its wire name; an unknown name gives null, which the NOT NULL columns refuse.</summary>
    private static string Wire<TEnum>(string name, Func<TEnum, string> wire) where TEnum : struct, Enum =>
        $"(case {name} {string.Join(' ', Enum.GetValues<TEnum>().Select(v => $"when '{v}' then '{wire(v)}'"))} end)";

    /// <summary>A JSON array of stored enum names as one joined text of wire names (the ingestion validator let only known names in).</summary>
    private static string WireList<TEnum>(string array, Func<TEnum, string> wire) where TEnum : struct, Enum =>
        $"array_to_string(array(select {Wire("v", wire)} from jsonb_array_elements_text({array}) with ordinality as t(v, n) order by n), {SatisfactionPageColumns.ListSeparatorSql})";
}
