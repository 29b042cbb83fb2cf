using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Analytics.Conversations;
using Analytics.Ingesting;
using Npgsql;
using RabbitMQ.Client;

namespace Analytics.IntegrationTests;

/// <summary>
/// An isolated slice of the real services for one test: its own PostgreSQL database and its own
/// RabbitMQ virtual host, created before the test and removed after it. Workers run as real child
/// processes against them.
/// </summary>
public sealed class TestPlatform : IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers = [];
    private readonly HttpClient _management;
    private IConnection? _connection;

    private TestPlatform(string name)
    {
        Name = name;
        _management = new HttpClient { BaseAddress = new Uri($"http://{TestEnvironment.RabbitHost}:{TestEnvironment.RabbitManagementPort}/api/") };
        _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestEnvironment.RabbitUser}:{TestEnvironment.RabbitPassword}")));
        ConnectionString = new NpgsqlConnectionStringBuilder(TestEnvironment.PostgresAdmin) { Database = name, MaxPoolSize = 20 }.ConnectionString;
        AmqpUri = new Uri($"amqp://{TestEnvironment.RabbitUser}:{TestEnvironment.RabbitPassword}@{TestEnvironment.RabbitHost}:{TestEnvironment.RabbitPort}/{name}");
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public Uri AmqpUri { get; }

    public static async Task<TestPlatform> CreateAsync()
    {
        var platform = new TestPlatform($"it_{Guid.NewGuid():N}"[..20]);
        await using (var admin = new NpgsqlConnection(TestEnvironment.PostgresAdmin))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {platform.Name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        (await platform._management.PutAsync($"vhosts/{platform.Name}", null)).EnsureSuccessStatusCode();
        (await platform._management.PutAsJsonAsync($"permissions/{platform.Name}/{TestEnvironment.RabbitUser}",
            new { configure = ".*", write = ".*", read = ".*" })).EnsureSuccessStatusCode();
        return platform;
    }

    public async Task<WorkerProcess> StartWorkerAsync(IDictionary<string, string>? settings = null)
    {
        var worker = WorkerProcess.Start(ConnectionString, AmqpUri, settings);
        _workers.Add(worker);
        var expected = _workers.Count(w => w.IsRunning);
        await TestEnvironment.WaitUntilAsync(
            async () => !worker.IsRunning || await ConsumerCountAsync(IngestionTopology.Queue) >= expected,
            TimeSpan.FromSeconds(90),
            () => Task.FromResult($"worker did not start consuming. Output:\n{worker.Output}"));
        Assert.True(worker.IsRunning, $"worker exited early:\n{worker.Output}");
        return worker;
    }

    public async Task<IChannel> OpenChannelAsync()
    {
        if (_connection is { IsOpen: false })
        {
            _connection.Dispose(); // closed by a broker restart (fault suite): connect again
            _connection = null;
        }

        _connection ??= await new ConnectionFactory { Uri = AmqpUri }.CreateConnectionAsync();
        return await _connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
    }

    /// <summary>Publishes plain JSON (no MassTransit envelope) to the ingestion exchange, with confirms.</summary>
    public async Task PublishRawAsync(IChannel channel, string body, string? contentType = "application/json")
    {
        var properties = new BasicProperties { Persistent = true, ContentType = contentType, MessageId = Guid.NewGuid().ToString() };
        await channel.BasicPublishAsync(IngestionTopology.Exchange, string.Empty, mandatory: true, properties, Encoding.UTF8.GetBytes(body));
    }

    public async Task<uint> ConsumerCountAsync(string queue)
    {
        await using var channel = await OpenChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    public async Task<uint> ReadyMessageCountAsync(string queue)
    {
        await using var channel = await OpenChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    /// <summary>Takes every message currently in a queue (acknowledging them).</summary>
    public async Task<List<BasicGetResult>> DrainQueueAsync(string queue)
    {
        await using var channel = await OpenChannelAsync();
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

        if (_connection is not null)
        {
            await _connection.CloseAsync();
            _connection.Dispose();
        }

        await _management.DeleteAsync($"vhosts/{Name}");
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(TestEnvironment.PostgresAdmin);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"drop database if exists {Name} with (force)", admin);
        // An autovacuum worker in the database cannot be terminated by a non-superuser (42501): wait until it is done.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await drop.ExecuteNonQueryAsync();
                break;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }

        _management.Dispose();
    }
}
