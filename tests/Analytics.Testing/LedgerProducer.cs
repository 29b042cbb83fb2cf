using System.Diagnostics;
using Analytics.Ingesting;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

// The namespace the test projects and the benchmarks have always used for this type: their files keep compiling unchanged.
namespace Analytics.FaultTests;

/// <summary>
/// A producer that keeps a ledger, after RabbitMQ's Jepsen harness: every message is published persistent and
/// mandatory with publisher confirms, and each of its eventIds is recorded as confirmed, failed (nacked or returned)
/// or unknown (the connection went away before the confirm). What was not confirmed is published again, with the
/// same eventIds, until it is.
/// </summary>
public sealed class LedgerProducer(Uri amqpUri) : IAsyncDisposable
{
    private const int Group = 25;
    private readonly Dictionary<LedgerMessage, Outcome> _ledger = [];
    private readonly Lock _lock = new();
    private IConnection? _connection;
    private IChannel? _channel;

    public enum Outcome
    {
        Unknown,
        Confirmed,
        Failed,
    }

    /// <summary>Publish attempts, including the retries.</summary>
    public int Attempts { get; private set; }

    /// <summary>Attempts that ended with a nack or a return, or could not be sent (no connection).</summary>
    public int Failed { get; private set; }

    /// <summary>Attempts whose outcome is unknown (the connection or channel went away before the confirm).</summary>
    public int Unknown { get; private set; }

    public IReadOnlyCollection<LedgerMessage> Messages
    {
        get
        {
            lock (_lock)
            {
                return [.. _ledger.Keys];
            }
        }
    }

    public HashSet<Guid> PublishedEventIds => [.. Messages.SelectMany(m => m.EventIds)];

    public HashSet<Guid> ConfirmedEventIds
    {
        get
        {
            lock (_lock)
            {
                return [.. _ledger.Where(m => m.Value == Outcome.Confirmed).SelectMany(m => m.Key.EventIds)];
            }
        }
    }

    public int UnconfirmedMessages
    {
        get
        {
            lock (_lock)
            {
                return _ledger.Count(m => m.Value != Outcome.Confirmed);
            }
        }
    }

    /// <summary>
    /// Publishes the messages in groups, at about <paramref name="messagesPerSecond"/>, until all are published or
    /// <paramref name="stop"/> is signalled (then the rest is never published, and not in the ledger).
    /// </summary>
    public async Task PublishAsync(IReadOnlyList<LedgerMessage> messages, int messagesPerSecond, CancellationToken stop = default)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < messages.Count && !stop.IsCancellationRequested; i += Group)
        {
            await PublishGroupAsync(messages.Skip(i).Take(Group).ToList(), CancellationToken.None);
            var due = TimeSpan.FromSeconds((double)(i + Group) / messagesPerSecond);
            if (due > clock.Elapsed)
            {
                try
                {
                    await Task.Delay(due - clock.Elapsed, stop); // pacing, not synchronisation
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Publishes again, with the same eventIds, every message not confirmed yet, until all are or the time is up.</summary>
    public async Task RepublishUntilConfirmedAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            List<LedgerMessage> pending;
            lock (_lock)
            {
                pending = _ledger.Where(m => m.Value != Outcome.Confirmed).Select(m => m.Key).ToList();
            }

            if (pending.Count == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{pending.Count} messages still not confirmed after {timeout.TotalSeconds:0} s");
            }

            foreach (var group in pending.Chunk(Group))
            {
                await PublishGroupAsync(group, cancellationToken);
            }

            if (UnconfirmedMessages > 0)
            {
                await Task.Delay(200, cancellationToken); // back off while the broker is away
            }
        }
    }

    private async Task PublishGroupAsync(IReadOnlyList<LedgerMessage> group, CancellationToken cancellationToken)
    {
        IChannel channel;
        try
        {
            channel = await ChannelAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException
                                       or System.Net.Sockets.SocketException or IOException)
        {
            // Not sent at all: a failed attempt for each message, published again later.
            lock (_lock)
            {
                foreach (var message in group)
                {
                    Attempts++;
                    Failed++;
                    _ledger.TryAdd(message, Outcome.Failed);
                }
            }

            return;
        }

        var confirms = new List<(LedgerMessage Message, Task Confirm)>(group.Count);
        foreach (var message in group)
        {
            lock (_lock)
            {
                Attempts++;
                _ledger.TryAdd(message, Outcome.Unknown);
            }

            var properties = new BasicProperties { Persistent = true, ContentType = "application/json", MessageId = Guid.NewGuid().ToString() };
            Task confirm;
            try
            {
                confirm = channel.BasicPublishAsync(IngestionTopology.Exchange, string.Empty, mandatory: true, properties, message.Body,
                    cancellationToken).AsTask();
            }
            catch (Exception ex)
            {
                confirm = Task.FromException(ex);
            }

            confirms.Add((message, confirm));
        }

        var broken = false;
        foreach (var (message, confirm) in confirms)
        {
            try
            {
                await confirm;
                Record(message, Outcome.Confirmed);
            }
            catch (PublishException)
            {
                Record(message, Outcome.Failed);
                lock (_lock)
                {
                    Failed++;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                broken = true;
                lock (_lock)
                {
                    Unknown++;
                }
            }
        }

        if (broken)
        {
            await DropConnectionAsync();
        }
    }

    private void Record(LedgerMessage message, Outcome outcome)
    {
        lock (_lock)
        {
            if (!_ledger.TryGetValue(message, out var current) || current != Outcome.Confirmed)
            {
                _ledger[message] = outcome;
            }
        }
    }

    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true })
        {
            return _channel;
        }

        await DropConnectionAsync();
        var factory = new ConnectionFactory { Uri = amqpUri, AutomaticRecoveryEnabled = false, RequestedConnectionTimeout = TimeSpan.FromSeconds(5) };
        _connection = await factory.CreateConnectionAsync(cancellationToken);
        _channel = await _connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        return _channel;
    }

    private async Task DropConnectionAsync()
    {
        try
        {
            if (_channel is not null)
            {
                await _channel.DisposeAsync();
            }

            if (_connection is not null)
            {
                await _connection.DisposeAsync();
            }
        }
        catch (Exception ex) when (ex is OperationInterruptedException or AlreadyClosedException or IOException or ObjectDisposedException)
        {
            // already gone
        }

        _channel = null;
        _connection = null;
    }

    public async ValueTask DisposeAsync() => await DropConnectionAsync();
}
