using System.Diagnostics;
using Analytics.Contracts;
using MassTransit;
using Npgsql;
using NpgsqlTypes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Analytics.Benchmarks;

/// <summary>The ceilings the platform is compared with, measured on the same messages in the same run.</summary>
public static class Baselines
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Plain RabbitMQ.Client: publish with confirms into a durable quorum queue while a consumer with
    /// prefetch 1000 acknowledges every 100 messages (multiple); first publish to last delivery.
    /// </summary>
    public static async Task<ScenarioResult> BrokerAsync(string name, string amqpUri, string queue, IReadOnlyList<byte[]> bodies,
        long events, CancellationToken cancellationToken)
    {
        await using var publisherConnection = await RabbitTools.ConnectAsync(amqpUri, "bench-broker-publisher", cancellationToken);
        await using var consumerConnection = await RabbitTools.ConnectAsync(amqpUri, "bench-broker-consumer", cancellationToken);
        await using var publisher = await RabbitTools.ConfirmChannelAsync(publisherConnection, cancellationToken);
        await using var consumerChannel = await consumerConnection.CreateChannelAsync(cancellationToken: cancellationToken);

        await consumerChannel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
        await consumerChannel.BasicQosAsync(0, 1000, false, cancellationToken);

        var total = bodies.Count;
        var received = 0;
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(consumerChannel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            var count = ++received;
            if (count % RabbitTools.Group == 0 || count == total)
            {
                await consumerChannel.BasicAckAsync(delivery.DeliveryTag, multiple: true, cancellationToken);
            }

            if (count == total)
            {
                done.TrySetResult(Stopwatch.GetTimestamp());
            }
        };
        await consumerChannel.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken);

        var before = CpuSnapshot.Take(null);
        var started = Stopwatch.GetTimestamp();
        await RabbitTools.PublishAllAsync(publisher, string.Empty, queue, bodies, cancellationToken);
        var finished = await done.Task.WaitAsync(Patience, cancellationToken);
        var cpu = CpuSnapshot.Take(null).Since(before);
        return new ScenarioResult(name, total, events, Stopwatch.GetElapsedTime(started, finished)) { Cpu = cpu };
    }

    /// <summary>
    /// A MassTransit 8 receive endpoint (raw JSON, prefetch 1000, 64 concurrent messages, quorum queue) whose
    /// consumer of <see cref="FeedbackEventBatch"/> does nothing; messages published with plain RabbitMQ.Client
    /// to the endpoint's exchange; first publish to last consumed.
    /// </summary>
    public static Task<ScenarioResult> MassTransitNoOpAsync(string amqpUri, string endpointName, IReadOnlyList<byte[]> bodies, long events,
        CancellationToken cancellationToken) =>
        MassTransitNoOpAsync("MassTransit ceiling: no-op consumer, 1 event/msg", amqpUri, endpointName, bodies, events, batched: false,
            cancellationToken);

    /// <summary>
    /// The same endpoint with a no-op <em>batch</em> consumer configured as the worker's ingestion endpoint (batches of up
    /// to 100 messages or 50 ms, 2 batches at a time, prefetch 400): the framework's ceiling for consuming in batches,
    /// which the worker needs to append a batch per transaction.
    /// </summary>
    public static Task<ScenarioResult> MassTransitNoOpBatchAsync(string amqpUri, string endpointName, IReadOnlyList<byte[]> bodies, long events,
        CancellationToken cancellationToken) =>
        MassTransitNoOpAsync("MassTransit ceiling: no-op batch consumer (100 msgs / 50 ms, 2 at a time), 1 event/msg", amqpUri, endpointName,
            bodies, events, batched: true, cancellationToken);

    private static async Task<ScenarioResult> MassTransitNoOpAsync(string name, string amqpUri, string endpointName, IReadOnlyList<byte[]> bodies,
        long events, bool batched, CancellationToken cancellationToken)
    {
        var endpointQueue = endpointName;
        var counter = new NoOpCounter(bodies.Count);
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(new Uri(amqpUri), host => host.PublisherConfirmation = true);
            rabbit.ReceiveEndpoint(endpointQueue, endpoint =>
            {
                endpoint.ConfigureConsumeTopology = false;
                endpoint.UseRawJsonDeserializer(RawSerializerOptions.All, isDefault: true);
                endpoint.SetQuorumQueue();
                if (batched)
                {
                    endpoint.PrefetchCount = 400;
                    endpoint.ConcurrentMessageLimit = 200;
                    endpoint.Consumer(() => new NoOpBatchConsumer(counter), consumer => consumer.Options<BatchOptions>(batch => batch
                        .SetMessageLimit(100).SetTimeLimit(TimeSpan.FromMilliseconds(50)).SetConcurrencyLimit(2)));
                }
                else
                {
                    endpoint.PrefetchCount = 1000;
                    endpoint.ConcurrentMessageLimit = 64;
                    endpoint.Consumer(() => new NoOpConsumer(counter));
                }
            });
        });

        await bus.StartAsync(cancellationToken);
        try
        {
            await using var connection = await RabbitTools.ConnectAsync(amqpUri, "bench-masstransit-publisher", cancellationToken);
            await using var channel = await RabbitTools.ConfirmChannelAsync(connection, cancellationToken);
            var before = CpuSnapshot.Take(null);
            var started = Stopwatch.GetTimestamp();
            await RabbitTools.PublishAllAsync(channel, endpointQueue, string.Empty, bodies, cancellationToken);
            var finished = await counter.Done.WaitAsync(Patience, cancellationToken);
            var cpu = CpuSnapshot.Take(null).Since(before);
            return new ScenarioResult(name, bodies.Count, events,
                Stopwatch.GetElapsedTime(started, finished))
            { Cpu = cpu };
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Npgsql binary COPY of the events into a plain table shaped like an event table: a bigint primary key
    /// and a unique index on the event id, jsonb body.
    /// </summary>
    public static async Task<ScenarioResult> CopyAsync(string connectionString, string table, IReadOnlyList<EventRow> rows, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var create = new NpgsqlCommand($"""
            create table {table} (
                seq_id bigint generated always as identity primary key,
                id uuid not null,
                stream_id uuid not null,
                type text not null,
                data jsonb not null,
                timestamp timestamptz not null default now());
            create unique index {table}_id on {table} (id);
            """, connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var before = CpuSnapshot.Take(null);
        var started = Stopwatch.GetTimestamp();
        await using (var writer = await connection.BeginBinaryImportAsync(
            $"copy {table} (id, stream_id, type, data) from stdin (format binary)", cancellationToken))
        {
            foreach (var row in rows)
            {
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(row.Id, NpgsqlDbType.Uuid, cancellationToken);
                await writer.WriteAsync(row.StreamId, NpgsqlDbType.Uuid, cancellationToken);
                await writer.WriteAsync(row.Type, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(row.Json, NpgsqlDbType.Jsonb, cancellationToken);
            }

            await writer.CompleteAsync(cancellationToken);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpu = CpuSnapshot.Take(null).Since(before);
        return new ScenarioResult("Database ceiling: Npgsql binary COPY (pk + unique index)", rows.Count, rows.Count, elapsed) { Cpu = cpu };
    }

    private sealed class NoOpCounter(int expected)
    {
        private readonly TaskCompletionSource<long> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public Task<long> Done => _done.Task;

        public void Consumed(int messages = 1)
        {
            if (Interlocked.Add(ref _count, messages) == expected)
            {
                _done.TrySetResult(Stopwatch.GetTimestamp());
            }
        }
    }

    private sealed class NoOpBatchConsumer(NoOpCounter counter) : IConsumer<Batch<FeedbackEventBatch>>
    {
        public Task Consume(ConsumeContext<Batch<FeedbackEventBatch>> context)
        {
            counter.Consumed(context.Message.Length);
            return Task.CompletedTask;
        }
    }

    private sealed class NoOpConsumer(NoOpCounter counter) : IConsumer<FeedbackEventBatch>
    {
        public Task Consume(ConsumeContext<FeedbackEventBatch> context)
        {
            counter.Consumed();
            return Task.CompletedTask;
        }
    }
}
