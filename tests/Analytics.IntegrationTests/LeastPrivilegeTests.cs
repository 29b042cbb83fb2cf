using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Analytics.Alerting;
using Analytics.Conversations;
using Analytics.Ingesting;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Analytics.IntegrationTests;

/// <summary>
/// Each service and role can do only what it must (docs/security.md): the "may not"s of the broker users and the
/// database roles, against the real servers. The "may" side is every other integration test: the worker, the API
/// and the chat-service publisher all run as these users there.
/// </summary>
public sealed class LeastPrivilegeTests : IAsyncLifetime
{
    private TestPlatform _platform = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        // The topology the worker declares, declared here by the administrator (no worker needed for these checks).
        await using var admin = await _platform.OpenAdminChannelAsync();
        await admin.ExchangeDeclareAsync(IngestionTopology.Exchange, ExchangeType.Fanout, durable: true);
        await admin.ExchangeDeclareAsync(AlertNotification.Exchange, ExchangeType.Topic, durable: true);
        await admin.QueueDeclareAsync(IngestionTopology.Queue, durable: true, exclusive: false, autoDelete: false);
        await admin.QueueBindAsync(IngestionTopology.Queue, IngestionTopology.Exchange, string.Empty);
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task The_publisher_user_publishes_to_the_ingestion_exchange_with_confirms()
    {
        await using var channel = await _platform.OpenChannelAsync();
        await _platform.PublishRawAsync(channel, "[]"); // completes on the broker's confirm; a nack or refusal throws

        await TestEnvironment.WaitUntilAsync(async () => await _platform.ReadyMessageCountAsync(IngestionTopology.Queue) == 1,
            TimeSpan.FromSeconds(10), async () => $"{await _platform.ReadyMessageCountAsync(IngestionTopology.Queue)} messages in the queue");
    }

    [Fact]
    public async Task The_publisher_user_may_not_consume_declare_delete_or_publish_elsewhere()
    {
        await AssertRefusedAsync(channel => channel.BasicGetAsync(IngestionTopology.Queue, autoAck: true));
        await AssertRefusedAsync(channel => channel.BasicConsumeAsync(IngestionTopology.Queue, autoAck: true, new AsyncEventingBasicConsumer(channel)));
        await AssertRefusedAsync(channel => channel.QueueDeclareAsync("stolen-copies", durable: true, exclusive: false, autoDelete: false));
        await AssertRefusedAsync(channel => channel.QueueDeleteAsync(IngestionTopology.Queue));
        await AssertRefusedAsync(channel => channel.ExchangeDeclareAsync("analytics.other", ExchangeType.Fanout, durable: true));
        await AssertRefusedAsync(channel => channel.QueueBindAsync(IngestionTopology.Queue, AlertNotification.Exchange, "#"));
        await AssertRefusedAsync(channel => channel.BasicPublishAsync(AlertNotification.Exchange, "regression.fake", mandatory: false,
            new BasicProperties(), Encoding.UTF8.GetBytes("{}")).AsTask());

        // Nothing of that happened: the queue is still there, bound, and holds no forged message.
        Assert.Equal(0u, await _platform.ReadyMessageCountAsync(IngestionTopology.Queue));
        await using var admin = await _platform.OpenAdminChannelAsync();
        await admin.QueueDeclarePassiveAsync(IngestionTopology.Queue);
        await Assert.ThrowsAsync<OperationInterruptedException>(() => admin.QueueDeclarePassiveAsync("stolen-copies"));
    }

    [Fact]
    public async Task The_worker_user_may_not_manage_the_broker_or_leave_its_vhost()
    {
        using var management = ManagementClient(TestEnvironment.RabbitWorkerUser, TestEnvironment.RabbitWorkerPassword);
        Assert.Equal(HttpStatusCode.Unauthorized, (await management.GetAsync("users")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await management.PutAsync("vhosts/worker-made", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await management.PutAsync("users/worker-made", new StringContent("""{"password":"x","tags":"administrator"}""", Encoding.UTF8, "application/json"))).StatusCode);

        // AMQP: its own vhost only (no permissions on '/' or on vhost analytics of another deployment).
        var elsewhere = new ConnectionFactory
        {
            HostName = TestEnvironment.RabbitHost,
            Port = TestEnvironment.RabbitPort,
            UserName = TestEnvironment.RabbitWorkerUser,
            Password = TestEnvironment.RabbitWorkerPassword,
            VirtualHost = "/",
        };
        var refused = await Record.ExceptionAsync(async () =>
        {
            await using var connection = await elsewhere.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            await channel.QueueDeclareAsync("worker-elsewhere", durable: false, exclusive: true, autoDelete: true);
        });
        Assert.True(refused is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException,
            $"the worker user reached vhost '/': {refused?.ToString() ?? "no error"}");

        // Sanity: the same user does work in its vhost (what the worker needs: declare, bind, publish, consume).
        await using var connection = await new ConnectionFactory { Uri = _platform.WorkerAmqpUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync("worker-probe", durable: false, exclusive: true, autoDelete: true);
    }

    [Fact]
    public async Task Guest_cannot_log_in()
    {
        var guest = new ConnectionFactory
        {
            HostName = TestEnvironment.RabbitHost,
            Port = TestEnvironment.RabbitPort,
            UserName = "guest",
            Password = "guest",
        };
        var refused = await Assert.ThrowsAsync<BrokerUnreachableException>(() => guest.CreateConnectionAsync());
        Assert.IsType<AuthenticationFailureException>(refused.InnerException);

        using var management = ManagementClient("guest", "guest");
        Assert.Equal(HttpStatusCode.Unauthorized, (await management.GetAsync("overview")).StatusCode);
    }

    [Fact]
    public async Task The_application_role_reads_and_writes_rows_but_may_not_change_the_schema()
    {
        await MigrateAsync();
        await using var app = new NpgsqlConnection(_platform.AppConnectionString);
        await app.OpenAsync();

        // May: DML on the event store and the projection tables, sequences.
        await Execute(app, "select count(*) from analytics.mt_events");
        await Execute(app, $"delete from {Satisfaction.SatisfactionProjection.Conversations} where false");
        await Execute(app, $"truncate {Satisfaction.SatisfactionProjection.Conversations}");
        await Execute(app, "select nextval('analytics.mt_events_sequence')");

        // May not: DDL, ownership operations, other databases, roles.
        await Execute(app, "create table analytics.app_made (id int)", PostgresErrorCodes.InsufficientPrivilege);
        await Execute(app, "create table public.app_made (id int)", PostgresErrorCodes.InsufficientPrivilege);
        await Execute(app, "create schema app_made", PostgresErrorCodes.InsufficientPrivilege);
        await Execute(app, "drop table analytics.mt_events", PostgresErrorCodes.InsufficientPrivilege);
        await Execute(app, "alter table analytics.mt_events add column app_made int", PostgresErrorCodes.InsufficientPrivilege);
        await Execute(app, "create index app_made on analytics.mt_events (type)", PostgresErrorCodes.InsufficientPrivilege);
        await Execute(app, "create or replace function analytics.mt_quick_append_events() returns int language sql as 'select 1'",
            PostgresErrorCodes.InsufficientPrivilege);
        await Execute(app, "create role app_made", PostgresErrorCodes.InsufficientPrivilege);
        await Execute(app, "create database app_made", PostgresErrorCodes.InsufficientPrivilege);

        // And it owns nothing in the database.
        Assert.Equal(0L, await _platform.ScalarAsync<long>(
            $"select count(*) from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = '{TestEnvironment.PostgresAppUser}'"));
    }

    [Fact]
    public async Task Tables_the_owner_creates_later_are_usable_by_the_application_role()
    {
        await MigrateAsync();
        await using (var owner = new NpgsqlConnection(_platform.ConnectionString))
        {
            await owner.OpenAsync();
            await Execute(owner, "create table analytics.added_later (id bigserial primary key, note text)");
        }

        await using var app = new NpgsqlConnection(_platform.AppConnectionString);
        await app.OpenAsync();
        await Execute(app, "insert into analytics.added_later (note) values ('written by the application role')");
        await Execute(app, "truncate analytics.added_later");
        await Execute(app, "drop table analytics.added_later", PostgresErrorCodes.InsufficientPrivilege);
    }

    private async Task MigrateAsync()
    {
        await using var owner = NpgsqlDataSource.Create(_platform.ConnectionString);
        await EventStoreMigration.MigrateAsync(owner, TestEnvironment.PostgresAppUser, CancellationToken.None);
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, string? expectedSqlState = null)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (expectedSqlState is null)
        {
            await command.ExecuteNonQueryAsync();
            return;
        }

        var refused = await Record.ExceptionAsync(() => command.ExecuteNonQueryAsync());
        Assert.True(refused is PostgresException { SqlState: var state } && state == expectedSqlState,
            $"{sql}: expected SQLSTATE {expectedSqlState}, got {refused?.Message ?? "success"}");
    }

    /// <summary>Runs one operation on a fresh publisher channel and asserts the broker refused it (403 ACCESS_REFUSED).</summary>
    private async Task AssertRefusedAsync(Func<IChannel, Task> operation)
    {
        await using var channel = await _platform.OpenChannelAsync();
        try
        {
            await operation(channel);
            // A refused publish is asynchronous: the broker closes the channel after the publish call returned.
            await TestEnvironment.WaitUntilAsync(() => Task.FromResult(channel.IsClosed), TimeSpan.FromSeconds(5), () => Task.FromResult("channel still open"));
        }
        catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or PublishException)
        {
        }

        Assert.True(channel.CloseReason?.ReplyCode == 403, $"expected ACCESS_REFUSED (403), got {channel.CloseReason}");
    }

    private static HttpClient ManagementClient(string user, string password)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://{TestEnvironment.RabbitHost}:{TestEnvironment.RabbitManagementPort}/api/") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return client;
    }
}
