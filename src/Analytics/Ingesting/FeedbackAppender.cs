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
    private readonly EventGraphAccessor _events = new(store);

    public async Task<AppendOutcome> AppendAsync(IReadOnlyList<AcceptedEvent> events, CancellationToken cancellationToken)
    {
        var unique = events.DistinctBy(e => e.EventId).ToList();
        var repeatsInBatch = events.Count - unique.Count;
        if (unique.Count == 0)
        {
            return new AppendOutcome(0, repeatsInBatch, 0);
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var appended = await TryAppendAsync(unique, cancellationToken);
                return new AppendOutcome(appended, events.Count - appended, attempt);
            }
            catch (Exception ex) when (attempt < MaxAttempts && IsWriteConflict(ex))
            {
                LogConflict(logger, attempt, ex.GetType().Name);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20 * attempt)), cancellationToken);
            }
        }
    }

    private async Task<int> TryAppendAsync(List<AcceptedEvent> batch, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var stored = await FindStoredAsync(connection, transaction, batch, cancellationToken);
        var fresh = batch.Where(e => !stored.Contains(e.EventId)).ToList();
        if (fresh.Count > 0)
        {
            await using var session = store.LightweightSession(SessionOptions.ForTransaction(transaction));
            foreach (var stream in fresh.GroupBy(e => e.ConversationId))
            {
                session.Events.Append(stream.Key, stream.Select(ToMartenEvent).ToArray());
            }

            await session.SaveChangesAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return fresh.Count;
    }

    private static async Task<HashSet<Guid>> FindStoredAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        List<AcceptedEvent> batch, CancellationToken cancellationToken)
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
        var martenEvent = _events.Build(accepted.Recorded);
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

    private sealed class EventGraphAccessor(IDocumentStore store)
    {
        private readonly Marten.Events.EventGraph _graph = ((DocumentStore)store).Events;

        public IEvent Build(object data) => _graph.BuildEvent(data);
    }
}
