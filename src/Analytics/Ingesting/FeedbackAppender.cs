using System.Diagnostics;
using Analytics.Conversations;
using JasperFx.Events;
using Marten;
using Marten.Exceptions;
using Marten.Services;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Ingesting;

/// <summary>
/// An event that passed validation, ready to be recorded in its conversation's stream; <paramref name="TraceParent"/> is
/// the W3C trace context of the message that carried it (<see cref="IngestionTracing"/>), kept as event metadata;
/// <paramref name="PayloadSha256"/> the hash of its canonical payload (<see cref="PayloadHash"/>), kept as the event
/// header <see cref="PayloadHash.Header"/> to tell a duplicate from an eventId reused for other content.
/// </summary>
public sealed record AcceptedEvent(Guid EventId, Guid ConversationId, object Recorded, string? TraceParent = null, string? PayloadSha256 = null);

/// <summary>
/// What one append did. <paramref name="Conflicts"/>: eventId → payload hash of the stored event, for the events of the
/// append whose eventId was already stored with another payload (refused as <c>event_id_conflict</c>, not stored, not
/// duplicates); <paramref name="Conflicting"/> counts those events.
/// </summary>
public readonly record struct AppendOutcome(int Appended, int Duplicates, int Attempts, int BulkAppended,
    IReadOnlyDictionary<Guid, string>? Conflicts = null, int Conflicting = 0)
{
    /// <summary>True when <paramref name="accepted"/> was not stored because its eventId holds another payload.</summary>
    public bool IsConflict(AcceptedEvent accepted, out string storedPayloadSha256)
    {
        storedPayloadSha256 = string.Empty;
        return Conflicts is not null && accepted.PayloadSha256 is { } hash && Conflicts.TryGetValue(accepted.EventId, out storedPayloadSha256!)
            && storedPayloadSha256 != hash;
    }
}

/// <summary>
/// Appends a batch of events, idempotent on eventId. The producer's eventId becomes Marten's event id, which
/// carries a unique index, and each conversation's stream id is the primary key of <c>mt_streams</c>.
/// <para>
/// Two paths, both Marten APIs: events of conversations that have no stream yet are written with Marten's
/// bulk event append (<c>IDocumentStore.BulkInsertEventsAsync</c>: binary COPY into <c>mt_streams</c> and
/// <c>mt_events</c>, one transaction); events of existing streams with quick appends (<c>mt_quick_append_events</c>,
/// up to 1000 events per transaction). A stream created meanwhile by another writer, or an eventId already
/// stored, makes the bulk transaction fail with 23505 and roll back as a whole; its events then take the
/// quick path, which skips the ids already stored after a conflict. Nothing is acknowledged before every
/// commit of the batch, so a crash between commit and ack only causes a redelivery that these checks turn
/// into a no-op.
/// </para>
/// <para>
/// An eventId already stored is a duplicate when the stored event has the same payload hash (or none: events stored
/// before hashes were kept), and a conflict when the hash differs: that event is not stored and the outcome names it.
/// </para>
/// <para>
/// The bulk append moves the async daemon's high-water mark to the highest sequence it wrote, so it must
/// never commit while a quick append of any process holds a lower, not yet committed sequence number (the
/// daemon would skip that event for good). Every append therefore takes a PostgreSQL advisory lock: quick
/// appends share it (transaction-scoped), a bulk append holds it exclusively until its own commit.
/// </para>
/// </summary>
public sealed partial class FeedbackAppender(
    IDocumentStore store,
    NpgsqlDataSource dataSource,
    IOptions<IngestionOptions> options,
    ILogger<FeedbackAppender> logger,
    IngestionMetrics? metrics = null,
    IngestionFaults? faults = null)
{
    /// <summary>Advisory lock key shared by every process that appends to this event store ("AnalytAp").</summary>
    public const long AppendLockKey = 0x416E616C79744170;

    private const int MaxAttempts = 10;
    private const int MaxEventsPerTransaction = 1000;
    private readonly Marten.Events.EventGraph _events = ((DocumentStore)store).Events;
    private readonly int _bulkAppendMinEvents = options.Value.BulkAppendMinEvents;

    public async Task<AppendOutcome> AppendAsync(IReadOnlyList<AcceptedEvent> events, CancellationToken cancellationToken)
    {
        // The first event of an eventId in the batch is the one appended; a later one with another payload conflicts with it.
        var conflicts = new Dictionary<Guid, string>();
        var first = new Dictionary<Guid, AcceptedEvent>(events.Count);
        var unique = new List<AcceptedEvent>(events.Count);
        foreach (var e in events)
        {
            if (!first.TryAdd(e.EventId, e))
            {
                if (first[e.EventId].PayloadSha256 is { } kept && e.PayloadSha256 is { } other && kept != other)
                {
                    conflicts[e.EventId] = kept;
                }

                continue;
            }

            unique.Add(e);
        }

        if (unique.Count == 0)
        {
            return new AppendOutcome(0, events.Count, 0, 0);
        }

        // One writer per process is the GroupCommitWriter's loop, so two appends of this process never collide on a
        // conversation stream. Other processes can still collide; that is what the retry is for.
        var appendStarted = Stopwatch.GetTimestamp();
        var quick = unique;
        var bulkAppended = 0;
        double findMs = 0, bulkMs = 0;
        if (_bulkAppendMinEvents > 0 && unique.Count >= _bulkAppendMinEvents)
        {
            var existing = await FindExistingStreamsAsync(unique, cancellationToken);
            findMs = Stopwatch.GetElapsedTime(appendStarted).TotalMilliseconds;
            var starting = unique.Where(e => !existing.Contains(e.ConversationId)).ToList();
            if (starting.Count >= _bulkAppendMinEvents && await TryBulkStartStreamsAsync(starting, cancellationToken))
            {
                bulkAppended = starting.Count;
                quick = unique.Where(e => existing.Contains(e.ConversationId)).ToList();
            }

            bulkMs = Stopwatch.GetElapsedTime(appendStarted).TotalMilliseconds - findMs;
        }

        var appended = bulkAppended;
        var attempts = bulkAppended > 0 ? 1 : 0;
        foreach (var chunk in quick.Chunk(MaxEventsPerTransaction))
        {
            var (chunkAppended, chunkAttempts) = await AppendChunkAsync(chunk, conflicts, cancellationToken);
            appended += chunkAppended;
            attempts += chunkAttempts;
        }

        var appendMs = Stopwatch.GetElapsedTime(appendStarted).TotalMilliseconds;
        LogAppended(logger, appended, bulkAppended, attempts, appendMs, findMs, bulkMs, appendMs - findMs - bulkMs);
        if (conflicts.Count == 0)
        {
            return new AppendOutcome(appended, events.Count - appended, attempts, bulkAppended);
        }

        var outcome = new AppendOutcome(appended, 0, attempts, bulkAppended, conflicts);
        var conflicting = events.Count(e => outcome.IsConflict(e, out _));
        return outcome with { Duplicates = events.Count - appended - conflicting, Conflicting = conflicting };
    }

    /// <summary>
    /// Starts the streams of <paramref name="starting"/> with Marten's bulk append, all or nothing. False when
    /// another writer got there first (a stream or an eventId already stored): nothing was written then.
    /// </summary>
    private async Task<bool> TryBulkStartStreamsAsync(List<AcceptedEvent> starting, CancellationToken cancellationToken)
    {
        var streams = starting.GroupBy(e => e.ConversationId)
            .Select(stream => StreamAction.Start(stream.Key, stream.Select(ToMartenEvent).ToArray()))
            .ToList();

        // Exclusive: no quick append of any process may hold an uncommitted sequence number below ours.
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(lockConnection, "select pg_advisory_lock(@key)", cancellationToken);
        try
        {
            await store.BulkInsertEventsAsync(streams, batchSize: starting.Count, cancellationToken);
            // Counted at each commit, not when the whole batch returns: a later step of the batch can still fail,
            // and its redelivery then finds these events stored (counted as duplicates, as they are by then).
            metrics?.Stored(starting.Count);
            metrics?.BulkStored(starting.Count);
            return true;
        }
        catch (Exception ex) when (IsWriteConflict(ex))
        {
            LogBulkConflict(logger, starting.Count, ex.GetType().Name);
            return false;
        }
        finally
        {
            // A connection returned to the pool also drops its advisory locks, should this fail.
            await ExecuteAsync(lockConnection, "select pg_advisory_unlock(@key)", CancellationToken.None);
        }
    }

    private async Task<HashSet<Guid>> FindExistingStreamsAsync(List<AcceptedEvent> events, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"select id from {EventStoreRegistration.SchemaName}.mt_streams where id = any(@ids)");
        command.Parameters.AddWithValue("ids", events.Select(e => e.ConversationId).Distinct().ToArray());
        var existing = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            existing.Add(reader.GetGuid(0));
        }

        return existing;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken,
        NpgsqlTransaction? transaction = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddWithValue("key", AppendLockKey);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<(int Appended, int Attempts)> AppendChunkAsync(AcceptedEvent[] chunk, Dictionary<Guid, string> conflicts,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // The first attempt is optimistic: most events are new, and the unique index catches the
                // rest. After a conflict, the ids already stored are looked up and skipped.
                return (await TryAppendAsync(chunk, skipStored: attempt > 1, conflicts, cancellationToken), attempt);
            }
            catch (Exception ex) when (attempt < MaxAttempts && IsWriteConflict(ex))
            {
                LogConflict(logger, attempt, ex.GetType().Name);
                if (attempt > 1)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 10 * attempt)), cancellationToken);
                }
            }
        }
    }

    private async Task<int> TryAppendAsync(AcceptedEvent[] batch, bool skipStored, Dictionary<Guid, string> conflicts,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Shared with other quick appends, exclusive against a bulk append (see the class comment).
        await ExecuteAsync(connection, "select pg_advisory_xact_lock_shared(@key)", cancellationToken, transaction);

        var fresh = batch;
        if (skipStored)
        {
            var stored = await FindStoredAsync(connection, transaction, batch, cancellationToken);
            fresh = batch.Where(e => !stored.ContainsKey(e.EventId)).ToArray();
            foreach (var e in batch)
            {
                if (stored.TryGetValue(e.EventId, out var storedHash) && storedHash is not null && e.PayloadSha256 is { } hash && hash != storedHash)
                {
                    conflicts[e.EventId] = storedHash;
                }
            }
        }

        if (fresh.Length > 0)
        {
            await using var session = store.LightweightSession(SessionOptions.ForTransaction(transaction));
            foreach (var stream in fresh.GroupBy(e => e.ConversationId))
            {
                session.Events.Append(stream.Key, stream.Select(ToMartenEvent).ToArray());
            }

            await session.SaveChangesAsync(cancellationToken);
        }

        faults?.BeforeCommit();
        await transaction.CommitAsync(cancellationToken);
        metrics?.Stored(fresh.Length);
        return fresh.Length;
    }

    /// <summary>The eventIds of <paramref name="batch"/> already stored, with their payload hash (null for events stored without one).</summary>
    private static async Task<Dictionary<Guid, string?>> FindStoredAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        AcceptedEvent[] batch, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"select id, headers ->> '{PayloadHash.Header}' from {EventStoreRegistration.SchemaName}.mt_events where id = any(@ids)", connection, transaction);
        command.Parameters.AddWithValue("ids", batch.Select(e => e.EventId).ToArray());
        var stored = new Dictionary<Guid, string?>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored[reader.GetGuid(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        return stored;
    }

    private IEvent ToMartenEvent(AcceptedEvent accepted)
    {
        var martenEvent = _events.BuildEvent(accepted.Recorded);
        martenEvent.Id = accepted.EventId;
        if (accepted.TraceParent is { } traceParent)
        {
            // Marten's own convention (DocumentStore.openSession): correlation = trace id, causation = the parent span's W3C id.
            martenEvent.CorrelationId = traceParent[3..35];
            martenEvent.CausationId = traceParent;
        }

        if (accepted.PayloadSha256 is { } payloadSha256)
        {
            martenEvent.SetHeader(PayloadHash.Header, payloadSha256);
        }

        return martenEvent;
    }

    /// <summary>Unique violations (same eventId, same new stream) and serialization failures from a racing writer.</summary>
    public static bool IsWriteConflict(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case PostgresException { SqlState: PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected }:
                case Marten.Exceptions.ExistingStreamIdCollisionException:
                case JasperFx.Events.ExistingStreamIdCollisionException:
                case EventStreamUnexpectedMaxEventIdException:
                    return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Appended {Appended} events ({Bulk} by bulk append; {Attempts} transactions) in {AppendMs:0.0} ms (finding streams {FindMs:0.0}, bulk {BulkMs:0.0}, quick {QuickMs:0.0})")]
    private static partial void LogAppended(ILogger logger, int appended, int bulk, int attempts, double appendMs, double findMs, double bulkMs,
        double quickMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Bulk start of {Count} events met a concurrent writer ({Conflict}); appending them one stream at a time")]
    private static partial void LogBulkConflict(ILogger logger, int count, string conflict);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Append attempt {Attempt} met a concurrent writer ({Conflict}); retrying")]
    private static partial void LogConflict(ILogger logger, int attempt, string conflict);
}
