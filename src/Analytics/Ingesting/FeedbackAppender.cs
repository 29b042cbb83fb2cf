using Analytics.Conversations;
using JasperFx.Events;
using Marten;
using Marten.Exceptions;
using Marten.Services;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Analytics.Ingesting;

/// <summary>An event that passed validation, ready to be recorded in its conversation's stream.</summary>
public sealed record AcceptedEvent(Guid EventId, Guid ConversationId, object Recorded);

public readonly record struct AppendOutcome(int Appended, int Duplicates, int Attempts);

/// <summary>
/// Appends a batch of events in one transaction, idempotent on eventId. The producer's eventId becomes
/// Marten's event id, which carries a unique index: inside the transaction we skip the ids already
/// stored, and a concurrent writer that stores the same id (or starts the same new stream) first makes
/// our commit fail with 23505, after which the batch is retried and the ids it stored are skipped.
/// Nothing is acknowledged before the commit, so a crash between commit and ack only causes a
/// redelivery that this check turns into a no-op.
/// </summary>
public sealed partial class FeedbackAppender(IDocumentStore store, NpgsqlDataSource dataSource, ILogger<FeedbackAppender> logger)
{
    private const int MaxAttempts = 10;
    private const int MaxEventsPerTransaction = 1000;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly Marten.Events.EventGraph _events = ((DocumentStore)store).Events;

    public async Task<AppendOutcome> AppendAsync(IReadOnlyList<AcceptedEvent> events, CancellationToken cancellationToken)
    {
        var unique = events.DistinctBy(e => e.EventId).ToList();
        if (unique.Count == 0)
        {
            return new AppendOutcome(0, events.Count, 0);
        }

        // One writer per process: concurrent batches of this process validate in parallel but append one
        // after the other, so they never collide on the same conversation stream. Other processes can
        // still collide; that is what the retry is for.
        await _writer.WaitAsync(cancellationToken);
        try
        {
            var appended = 0;
            var attempts = 0;
            foreach (var chunk in unique.Chunk(MaxEventsPerTransaction))
            {
                var (chunkAppended, chunkAttempts) = await AppendChunkAsync(chunk, cancellationToken);
                appended += chunkAppended;
                attempts += chunkAttempts;
            }

            return new AppendOutcome(appended, events.Count - appended, attempts);
        }
        finally
        {
            _writer.Release();
        }
    }

    private async Task<(int Appended, int Attempts)> AppendChunkAsync(AcceptedEvent[] chunk, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // The first attempt is optimistic: most events are new, and the unique index catches the
                // rest. After a conflict, the ids already stored are looked up and skipped.
                return (await TryAppendAsync(chunk, skipStored: attempt > 1, cancellationToken), attempt);
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

    private async Task<int> TryAppendAsync(AcceptedEvent[] batch, bool skipStored, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var fresh = batch;
        if (skipStored)
        {
            var stored = await FindStoredAsync(connection, transaction, batch, cancellationToken);
            fresh = batch.Where(e => !stored.Contains(e.EventId)).ToArray();
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

        await transaction.CommitAsync(cancellationToken);
        return fresh.Length;
    }

    private static async Task<HashSet<Guid>> FindStoredAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        AcceptedEvent[] batch, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"select id from {EventStoreRegistration.SchemaName}.mt_events where id = any(@ids)", connection, transaction);
        command.Parameters.AddWithValue("ids", batch.Select(e => e.EventId).ToArray());
        var stored = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add(reader.GetGuid(0));
        }

        return stored;
    }

    private IEvent ToMartenEvent(AcceptedEvent accepted)
    {
        var martenEvent = _events.BuildEvent(accepted.Recorded);
        martenEvent.Id = accepted.EventId;
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Append attempt {Attempt} met a concurrent writer ({Conflict}); retrying")]
    private static partial void LogConflict(ILogger logger, int attempt, string conflict);
}
