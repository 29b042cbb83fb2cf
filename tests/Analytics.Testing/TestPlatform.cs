using System.Text;
using Analytics.Conversations;
using Analytics.Ingesting;
using Analytics.Testing;
using Npgsql;
using RabbitMQ.Client;

// The namespace the test projects have always used for this type: their files keep compiling unchanged.
namespace Analytics.IntegrationTests;

/// <summary>
/// An isolated slice of the real services for one test: its own PostgreSQL database and its own
/// RabbitMQ virtual host, created before the test and removed after it. Workers run as real child
/// processes against them.
/// </summary>
public sealed class TestPlatform : IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers = [];
    private readonly ServiceIsolation _isolation = TestEnvironment.Isolation();
    private readonly ConfirmChannels _adminChannels;
    private readonly ConfirmChannels _publisherChannels;

    private TestPlatform(string name)
    {
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(TestEnvironment.PostgresAdmin) { Database = name, MaxPoolSize = 20 }.ConnectionString;
        AppConnectionString = new NpgsqlConnectionStringBuilder(ConnectionString)
        {
            Username = TestEnvironment.PostgresAppUser,
            Password = TestEnvironment.PostgresAppPassword,
        }.ConnectionString;
        AmqpUri = AmqpUriFor(TestEnvironment.RabbitUser, TestEnvironment.RabbitPassword);
        WorkerAmqpUri = AmqpUriFor(TestEnvironment.RabbitWorkerUser, TestEnvironment.RabbitWorkerPassword);
        PublisherAmqpUri = AmqpUriFor(TestEnvironment.RabbitPublisherUser, TestEnvironment.RabbitPublisherPassword);
        _adminChannels = new ConfirmChannels(AmqpUri);
        _publisherChannels = new ConfirmChannels(PublisherAmqpUri);
    }

    public string Name { get; }

    /// <summary>The test database as its owner (the role that created it): for seeding and inspecting.</summary>
    public string ConnectionString { get; }

    /// <summary>The test database as the DML-only application role, which the worker and the API serve with.</summary>
    public string AppConnectionString { get; }

    /// <summary>The test vhost as the administrator: for inspecting queues.</summary>
    public Uri AmqpUri { get; }

    /// <summary>The test vhost as the worker's user (no tags, this vhost only).</summary>
    public Uri WorkerAmqpUri { get; }

    /// <summary>The test vhost as the chat services' user (write to the ingestion exchange only).</summary>
    public Uri PublisherAmqpUri { get; }

    /// <summary>
    /// What a host needs to run like production: the application role as ConnectionStrings:Marten, the owner's
    /// login to apply schema changes at startup (docs/security.md).
    /// </summary>
    public IReadOnlyDictionary<string, string> HostSettings => new Dictionary<string, string>
    {
        ["ConnectionStrings:Marten"] = AppConnectionString,
        ["EventStore:OwnerUsername"] = new NpgsqlConnectionStringBuilder(ConnectionString).Username!,
        ["EventStore:OwnerPassword"] = new NpgsqlConnectionStringBuilder(ConnectionString).Password ?? string.Empty,
    };

    private Uri AmqpUriFor(string user, string password) =>
        new($"amqp://{Uri.EscapeDataString(user)}:{Uri.EscapeDataString(password)}@{TestEnvironment.RabbitHost}:{TestEnvironment.RabbitPort}/{Name}");

    public static async Task<TestPlatform> CreateAsync()
    {
        var platform = new TestPlatform($"it_{Guid.NewGuid():N}"[..20]);
        await platform._isolation.CreateDatabaseAsync(platform.Name);
        // The same permissions as services-up.sh gives them in vhost analytics.
        await platform._isolation.CreateVhostAsync(platform.Name, new Dictionary<string, VhostPermissions>
        {
            [TestEnvironment.RabbitUser] = ServiceIsolation.Everything,
            [TestEnvironment.RabbitWorkerUser] = ServiceIsolation.Everything,
            [TestEnvironment.RabbitPublisherUser] = new("^analytics\\.ingest$", "^analytics\\.ingest$", "^$"),
        });
        return platform;
    }

    public async Task<WorkerProcess> StartWorkerAsync(IDictionary<string, string>? settings = null)
    {
        var environment = HostSettings.ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var worker = WorkerProcess.Start(AppConnectionString, WorkerAmqpUri, environment);
        _workers.Add(worker);
        var expected = _workers.Count(w => w.IsRunning);
        // The first worker declares the queue: until then there is nothing to count.
        await TestEnvironment.WaitUntilAsync(
            async () => !worker.IsRunning || (await QueueExistsAsync(IngestionTopology.Queue) && await ConsumerCountAsync(IngestionTopology.Queue) >= expected),
            TimeSpan.FromSeconds(240), // a condition, not a delay: generous for a machine shared by several builds
            () => Task.FromResult($"worker did not start consuming. Output:\n{worker.Output}"));
        Assert.True(worker.IsRunning, $"worker exited early:\n{worker.Output}");
        await worker.WaitUntilListeningAsync(TimeSpan.FromSeconds(120));
        return worker;
    }

    /// <summary>A channel with publisher confirms as the chat services' user: it may publish to the ingestion exchange, nothing else.</summary>
    public Task<IChannel> OpenChannelAsync() => _publisherChannels.OpenAsync();

    /// <summary>A channel as the administrator: to inspect and drain queues, or to subscribe like another service.</summary>
    public Task<IChannel> OpenAdminChannelAsync() => _adminChannels.OpenAsync();

    /// <summary>Publishes plain JSON (no MassTransit envelope) to the ingestion exchange, with confirms; returns the message's id.</summary>
    public async Task<string> PublishRawAsync(IChannel channel, string body, string? contentType = "application/json")
    {
        var properties = new BasicProperties { Persistent = true, ContentType = contentType, MessageId = Guid.NewGuid().ToString() };
        await channel.BasicPublishAsync(IngestionTopology.Exchange, string.Empty, mandatory: true, properties, Encoding.UTF8.GetBytes(body));
        return properties.MessageId;
    }

    /// <summary>As <see cref="PublishRawAsync(IChannel, string, string?)"/>, one message as application/json on a channel of its own.</summary>
    public async Task<string> PublishRawAsync(string body)
    {
        await using var channel = await OpenChannelAsync();
        return await PublishRawAsync(channel, body);
    }

    /// <summary>
    /// Publishes events as plain JSON batches (<see cref="Analytics.Contracts.FeedbackEventBatch"/>) of
    /// <paramref name="eventsPerMessage"/> events each, in order, on one publisher channel, with confirms.
    /// </summary>
    public async Task PublishInBatchesAsync(IEnumerable<object> events, int eventsPerMessage)
    {
        await using var channel = await OpenChannelAsync();
        foreach (var batch in events.Chunk(eventsPerMessage))
        {
            await PublishRawAsync(channel, System.Text.Json.JsonSerializer.Serialize(Analytics.Contracts.FeedbackEventBatch.From(batch)));
        }
    }

    /// <summary>Consumers of a queue. Throws when the queue does not exist: a wrong name or a worker that never declared it is a failure, not 0.</summary>
    public async Task<uint> ConsumerCountAsync(string queue) => (await DeclarePassiveAsync(queue)).ConsumerCount;

    /// <summary>Ready messages of a queue (not those delivered and unacknowledged). Throws when the queue does not exist.</summary>
    public async Task<uint> ReadyMessageCountAsync(string queue) => (await DeclarePassiveAsync(queue)).MessageCount;

    /// <summary>
    /// Ready messages of a queue the worker creates on first use (the refused and error queues: MassTransit and the
    /// worker declare them when they first move a message there), 0 while it does not exist yet. For "at least N" waits,
    /// and for "nothing was parked or refused" with the IngestionTopology constants only (a queue that was never created
    /// received nothing; a mistyped name would pass, so never with a literal).
    /// </summary>
    public async Task<uint> ReadySoFarAsync(string queue) => await QueueExistsAsync(queue) ? await ReadyMessageCountAsync(queue) : 0;

    /// <summary>Whether a queue exists in the test vhost (a refused or error queue appears with its first message).</summary>
    public async Task<bool> QueueExistsAsync(string queue) => await _isolation.QueueAsync(Name, queue) is not null;

    /// <summary>
    /// Waits until a queue is quiet: no message ready and none delivered but unacknowledged, so nothing a worker
    /// holds can still change the store. The management API's figures are sampled once per statistics interval
    /// (5 s by default), so the queue must be seen quiet, by AMQP and by the management API, over a window longer
    /// than that interval without a single busy reading in between.
    /// </summary>
    public async Task WaitUntilQuietAsync(string queue, TimeSpan timeout)
    {
        var window = TimeSpan.FromSeconds(6);
        DateTime? quietSince = null;
        (long Ready, long Unacknowledged, uint AmqpReady) last = default;
        await TestEnvironment.WaitUntilAsync(async () =>
            {
                var figures = await _isolation.QueueAsync(Name, queue)
                    ?? throw new InvalidOperationException($"queue {queue} does not exist in vhost {Name}");
                last = (Figure(figures, "messages_ready"), Figure(figures, "messages_unacknowledged"), await ReadyMessageCountAsync(queue));
                if (last is not (0, 0, 0))
                {
                    quietSince = null;
                    return false;
                }

                quietSince ??= DateTime.UtcNow;
                return DateTime.UtcNow - quietSince >= window;
            },
            timeout,
            () => Task.FromResult($"queue {queue} not quiet: {last.Ready} ready, {last.Unacknowledged} unacknowledged (management), {last.AmqpReady} ready (AMQP)"));
    }

    private static long Figure(System.Text.Json.JsonElement queue, string name) =>
        queue.TryGetProperty(name, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.Number
            ? value.GetInt64()
            : -1; // not sampled yet: not quiet

    private async Task<QueueDeclareOk> DeclarePassiveAsync(string queue)
    {
        await using var channel = await OpenAdminChannelAsync();
        try
        {
            return await channel.QueueDeclarePassiveAsync(queue);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException ex)
        {
            throw new InvalidOperationException($"queue {queue} does not exist in vhost {Name}: {ex.Message}", ex);
        }
    }

    /// <summary>Takes every message currently in a queue (acknowledging them).</summary>
    public async Task<List<BasicGetResult>> DrainQueueAsync(string queue)
    {
        await using var channel = await OpenAdminChannelAsync();
        var messages = new List<BasicGetResult>();
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } message)
        {
            messages.Add(message);
        }

        return messages;
    }

    /// <summary>
    /// The feedback events of conversation streams: not Marten's tombstones, not the triage streams' events
    /// (ClusterOpened… written by the clusterer when thumbs-down arrive).
    /// </summary>
    private const string FeedbackEventsOnly = "type <> 'tombstone' and type not like 'cluster\\_%'";

    public async Task<long> StoredEventCountAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"select count(*) from information_schema.tables where table_schema = '{EventStoreRegistration.SchemaName}' and table_name = 'mt_events'", connection);
        if ((long)(await command.ExecuteScalarAsync())! == 0)
        {
            return 0;
        }

        command.CommandText = $"select count(*) from {EventStoreRegistration.SchemaName}.mt_events where {FeedbackEventsOnly}";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// eventId → (stream id, times stored) for every stored event. Marten's tombstone rows (written after a
    /// failed append to keep the event sequence free of gaps for the async daemon) are not events.
    /// </summary>
    public async Task<Dictionary<Guid, (Guid StreamId, int Count, string Type)>> StoredEventsAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"select id, min(stream_id::text), count(*), min(type) from {EventStoreRegistration.SchemaName}.mt_events where {FeedbackEventsOnly} group by id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var stored = new Dictionary<Guid, (Guid, int, string)>();
        while (await reader.ReadAsync())
        {
            stored[reader.GetGuid(0)] = (Guid.Parse(reader.GetString(1)), (int)reader.GetInt64(2), reader.GetString(3));
        }

        return stored;
    }

    /// <summary>True once the satisfaction projection has processed every stored event (false before its tables exist).</summary>
    /// <summary>The first column of the first row of a query against the test database.</summary>
    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task<bool> ProjectionCaughtUpAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select coalesce((select max(last_seq_id) from analytics.mt_event_progression where name like '%SatisfactionProjection:%'), -1)
                >= coalesce((select max(seq_id) from analytics.mt_events), 0)
            """, connection);
        try
        {
            return (bool)(await command.ExecuteScalarAsync())!;
        }
        catch (PostgresException)
        {
            return false; // tables not created yet
        }
    }

    /// <summary>True once the triage clusterer (a daemon subscription) has taken every stored rating (false before its tables exist).</summary>
    public async Task<bool> ClustererCaughtUpAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"""
            select coalesce((select max(last_seq_id) from analytics.mt_event_progression where name like '{Triage.ThumbsDownClusterer.SubscriptionName}%'), -1)
                >= coalesce((select max(seq_id) from analytics.mt_events where type = 'response_rated_recorded'), 0)
            """, connection);
        try
        {
            return (bool)(await command.ExecuteScalarAsync())!;
        }
        catch (PostgresException)
        {
            return false; // tables not created yet
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        await _adminChannels.DisposeAsync();
        await _publisherChannels.DisposeAsync();

        await _isolation.DeleteVhostAsync(Name);
        await _isolation.DropDatabaseAsync(Name);
        _isolation.Dispose();
    }

    /// <summary>One connection, opened on first use and again after a broker restart closed it (fault suite), for channels with publisher confirms.</summary>
    private sealed class ConfirmChannels(Uri uri) : IAsyncDisposable
    {
        private IConnection? _connection;

        public async Task<IChannel> OpenAsync()
        {
            if (_connection is { IsOpen: false })
            {
                _connection.Dispose();
                _connection = null;
            }

            _connection ??= await new ConnectionFactory { Uri = uri }.CreateConnectionAsync();
            return await _connection.CreateChannelAsync(new CreateChannelOptions(
                publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        }

        public async ValueTask DisposeAsync()
        {
            if (_connection is not null)
            {
                await _connection.CloseAsync();
                _connection.Dispose();
            }
        }
    }
}
