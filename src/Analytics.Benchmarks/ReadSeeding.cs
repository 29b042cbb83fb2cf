using System.Diagnostics;
using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Satisfaction;
using Analytics.Simulator;
using JasperFx.Events;
using Marten;
using Marten.Events;
using Npgsql;

namespace Analytics.Benchmarks;

/// <summary>
/// The event store of the read-side benchmark: simulated events bulk-inserted with Marten
/// (<c>BulkInsertEventsAsync</c>, binary COPY), the satisfaction projection rebuilt over them, and a
/// set-based SQL aggregate over the same events as the baseline.
/// </summary>
public sealed class ReadSeeding : IAsyncDisposable
{
    /// <summary>Events per <c>BulkInsertEventsAsync</c> call (one transaction each); whole conversations per call.</summary>
    private const int EventsPerCall = 50_000;

    private ReadSeeding(NpgsqlDataSource dataSource, DocumentStore store)
    {
        DataSource = dataSource;
        Store = store;
    }

    public NpgsqlDataSource DataSource { get; }

    public DocumentStore Store { get; }

    public static async Task<ReadSeeding> CreateAsync(string connectionString, CancellationToken cancellationToken)
    {
        var dataSource = new NpgsqlDataSourceBuilder(connectionString).Build();
        var options = new StoreOptions();
        EventStoreRegistration.ConfigureEventStore(options, dataSource);
        var store = new DocumentStore(options);
        cancellationToken.ThrowIfCancellationRequested();
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        return new ReadSeeding(dataSource, store);
    }

    /// <summary>Traffic options whose <paramref name="events"/> events span about <paramref name="days"/> days ending now.</summary>
    public static TrafficOptions Window(int events, int days, int seed, DateTimeOffset end)
    {
        var eventsPerMinute = events / (days * 24.0 * 60.0);
        return new TrafficOptions
        {
            Seed = seed,
            Start = end.AddDays(-days),
            ConversationsPerMinute = eventsPerMinute / TrafficOptions.ApproximateEventsPerConversation,
        };
    }

    /// <summary>A conversation is written once it has been quiet this long (virtual time); later events for it would fail the run.</summary>
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromHours(6);

    /// <summary>
    /// Generates the events and bulk-inserts them as whole-conversation stream starts, streaming: a conversation is
    /// held in memory until it has been quiet for <see cref="QuietPeriod"/> of virtual time, then written in a call
    /// of ~<see cref="EventsPerCall"/> events. Only the bulk inserts are timed (generation runs between them).
    /// </summary>
    public async Task<SeedResult> SeedAsync(TrafficOptions traffic, int events, CancellationToken cancellationToken)
    {
        var seeding = new StreamingSeed(Store, cancellationToken);
        var generation = Stopwatch.StartNew();
        foreach (var contract in new TrafficModel(traffic).Generate().Take(events))
        {
            seeding.Hold(contract);
            if (seeding.Buffered >= 2 * EventsPerCall)
            {
                await seeding.WriteQuietAsync();
            }
        }

        await seeding.WriteAllAsync();
        return seeding.Result(generation.Elapsed);
    }

    /// <summary>
    /// The state of one <see cref="SeedAsync"/>: the conversations held in memory (their events and their last event's
    /// time), those already written, and the time spent in <c>BulkInsertEventsAsync</c>.
    /// </summary>
    private sealed class StreamingSeed(DocumentStore store, CancellationToken cancellationToken)
    {
        private readonly Dictionary<Guid, List<IEvent>> _open = [];
        private readonly Dictionary<Guid, DateTimeOffset> _lastEvent = [];
        private readonly HashSet<Guid> _written = [];
        private DateTimeOffset _first = DateTimeOffset.MaxValue;
        private DateTimeOffset _last = DateTimeOffset.MinValue;
        private DateTimeOffset _latest;
        private long _sequence;
        private TimeSpan _inserting = TimeSpan.Zero;
        private int _calls;

        /// <summary>Events held in memory, not written yet.</summary>
        public int Buffered { get; private set; }

        /// <summary>Adds an event to its conversation's stream, held until the conversation is written.</summary>
        public void Hold(object contract)
        {
            var (eventId, conversationId, occurredAt) = contract switch
            {
                ConversationStarted c => (c.EventId, c.ConversationId, c.OccurredAt),
                ResponseGenerated r => (r.EventId, r.ConversationId, r.OccurredAt),
                ResponseRated r => (r.EventId, r.ConversationId, r.OccurredAt),
                ResponsesCompared c => (c.EventId, c.ConversationId, c.OccurredAt),
                _ => throw new InvalidOperationException($"unexpected contract {contract.GetType().Name}"),
            };
            if (_written.Contains(conversationId))
            {
                throw new InvalidOperationException($"conversation {conversationId} got an event after {QuietPeriod} of quiet; raise QuietPeriod");
            }

            _first = occurredAt < _first ? occurredAt : _first;
            _last = occurredAt > _last ? occurredAt : _last;
            var receivedAt = occurredAt.AddMilliseconds(300);
            var e = store.Events.BuildEvent(RecordedEvent.From(contract, receivedAt));
            e.Id = eventId;
            e.Timestamp = receivedAt;
            // BulkInsertEventsAsync hands out seq_ids in the order of Sequence: time order across the streams of a call.
            e.Sequence = ++_sequence;
            if (!_open.TryGetValue(conversationId, out var list))
            {
                _open[conversationId] = list = [];
            }

            list.Add(e);
            _lastEvent[conversationId] = occurredAt;
            _latest = occurredAt;
            Buffered++;
        }

        /// <summary>Writes the conversations quiet for <see cref="QuietPeriod"/> before the latest event held.</summary>
        public Task WriteQuietAsync()
        {
            var horizon = _latest - QuietPeriod;
            return WriteAsync(id => _lastEvent[id] < horizon);
        }

        /// <summary>Writes every conversation still held.</summary>
        public Task WriteAllAsync() => WriteAsync(_ => true);

        /// <summary>What was seeded; <paramref name="elapsed"/> is the whole run, generation and inserts.</summary>
        public SeedResult Result(TimeSpan elapsed) =>
            new((int)_sequence, _written.Count, _calls, _first, _last, _inserting, elapsed - _inserting);

        private async Task WriteAsync(Func<Guid, bool> ready)
        {
            var call = new List<StreamAction>();
            var inCall = 0;
            // Conversations in the order they started, so seq_ids stay roughly in time order.
            foreach (var id in _open.Keys.Where(ready).OrderBy(id => _open[id][0].Sequence).ToList())
            {
                var list = _open[id];
                _open.Remove(id);
                _lastEvent.Remove(id);
                _written.Add(id);
                call.Add(StreamAction.Start(id, [.. list]));
                inCall += list.Count;
                Buffered -= list.Count;
                if (inCall >= EventsPerCall)
                {
                    await InsertAsync(call);
                    call = [];
                    inCall = 0;
                }
            }

            if (call.Count > 0)
            {
                await InsertAsync(call);
            }
        }

        private async Task InsertAsync(List<StreamAction> call)
        {
            var started = Stopwatch.StartNew();
            await store.BulkInsertEventsAsync(call, 1000, cancellationToken);
            _inserting += started.Elapsed;
            _calls++;
        }
    }

    /// <summary>Marten's rebuild of the satisfaction projection over every event; returns the elapsed time.</summary>
    public async Task<TimeSpan> RebuildAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        using var daemon = await Store.BuildProjectionDaemonAsync();
        await daemon.RebuildProjectionAsync<SatisfactionProjection>(TimeSpan.FromMinutes(60), cancellationToken);
        return started.Elapsed;
    }

    /// <summary>The worker's <c>rebuild-views</c> (<see cref="SatisfactionRebuild"/>) over every event; returns the elapsed time.</summary>
    public async Task<TimeSpan> SetBasedRebuildAsync(Action<SatisfactionRebuild.Progress> progress, CancellationToken cancellationToken)
    {
        var rebuild = new SatisfactionRebuild(Store, DataSource, Microsoft.Extensions.Logging.Abstractions.NullLogger<SatisfactionRebuild>.Instance);
        return (await rebuild.RunAsync(progress, cancellationToken)).Elapsed;
    }

    /// <summary>An md5 per satisfaction table over all its rows in key order, to compare two rebuilds row for row.</summary>
    public async Task<Dictionary<string, string>> TableDigestsAsync(CancellationToken cancellationToken)
    {
        var digests = new Dictionary<string, string>();
        foreach (var (table, key) in SatisfactionRebuild.TableKeys)
        {
            await using var command = DataSource.CreateCommand($"select md5(coalesce(string_agg(md5(t::text), '' order by {key}), '')) from {table} t");
            command.CommandTimeout = 0;
            digests[table] = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        }

        return digests;
    }

    /// <summary>
    /// The baseline: one set-based statement that reads every response event's JSON from mt_events and writes
    /// responses per model, version, capability and hour into a scratch table.
    /// </summary>
    public async Task<(TimeSpan Elapsed, long Rows)> SqlBaselineAsync(CancellationToken cancellationToken)
    {
        await using (var create = DataSource.CreateCommand("""
            drop table if exists analytics.bench_response_cells;
            create table analytics.bench_response_cells (model_id text, model_version text, capability text, hour timestamptz, responses bigint)
            """))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var started = Stopwatch.StartNew();
        await using var insert = DataSource.CreateCommand("""
            insert into analytics.bench_response_cells (model_id, model_version, capability, hour, responses)
            select e.data->'model'->>'id', e.data->'model'->>'version', c.capability,
                date_trunc('hour', ((e.data->>'occurredAt')::timestamptz) at time zone 'UTC') at time zone 'UTC', count(*)
            from analytics.mt_events e
            cross join lateral jsonb_array_elements_text(e.data->'capabilities') as c(capability)
            where e.type = 'response_generated_recorded'
            group by 1, 2, 3, 4
            """);
        insert.CommandTimeout = 0;
        var rows = await insert.ExecuteNonQueryAsync(cancellationToken);
        return (started.Elapsed, rows);
    }

    /// <summary>occurredAt of the first and the last stored event.</summary>
    public async Task<(DateTimeOffset First, DateTimeOffset Last)> EventTimesAsync(CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand(
            "select min((data->>'occurredAt')::timestamptz), max((data->>'occurredAt')::timestamptz) from analytics.mt_events");
        command.CommandTimeout = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<DateTimeOffset>(1));
    }

    public async Task<long> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand(sql);
        command.CommandTimeout = 0;
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<string> ExplainAsync(string sql, IReadOnlyList<object> parameters, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand("explain (analyze, buffers) " + sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter is NpgsqlParameter p ? p : new NpgsqlParameter { Value = parameter });
        }

        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join('\n', lines);
    }

    public async ValueTask DisposeAsync()
    {
        Store.ReleaseProjectionWakeup();
        await Store.DisposeAsync();
        await DataSource.DisposeAsync();
    }
}

public sealed record SeedResult(int Events, int Conversations, int Calls, DateTimeOffset First, DateTimeOffset Last, TimeSpan Inserting,
    TimeSpan Generating);
