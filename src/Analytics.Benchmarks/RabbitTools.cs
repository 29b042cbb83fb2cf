using RabbitMQ.Client;

namespace Analytics.Benchmarks;

/// <summary>Plain RabbitMQ.Client 7 publishing with publisher confirms, about 1000 messages outstanding.</summary>
public static class RabbitTools
{
    public const int Outstanding = 1000;
    public const int Group = 100;

    public static async Task<IConnection> ConnectAsync(string amqpUri, string name, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = new Uri(amqpUri), ClientProvidedName = name };
        return await factory.CreateConnectionAsync(cancellationToken);
    }

    public static Task<IChannel> ConfirmChannelAsync(IConnection connection, CancellationToken cancellationToken) =>
        connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true,
            publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(2 * Outstanding)), cancellationToken);

    /// <summary>
    /// Publishes every body (persistent, application/json) and returns once the broker confirmed them all.
    /// Publishes are issued in groups of 100; at most 10 groups (1000 messages) await their confirms at once.
    /// </summary>
    public static async Task PublishAllAsync(IChannel channel, string exchange, string routingKey, IReadOnlyList<byte[]> bodies,
        CancellationToken cancellationToken)
    {
        var properties = new BasicProperties { Persistent = true, ContentType = "application/json" };
        var groups = new Queue<Task>();
        for (var start = 0; start < bodies.Count; start += Group)
        {
            var end = Math.Min(start + Group, bodies.Count);
            var confirms = new Task[end - start];
            for (var i = start; i < end; i++)
            {
                confirms[i - start] = channel.BasicPublishAsync(exchange, routingKey, mandatory: false, properties, bodies[i], cancellationToken).AsTask();
            }

            groups.Enqueue(Task.WhenAll(confirms));
            if (groups.Count >= Outstanding / Group)
            {
                await groups.Dequeue();
            }
        }

        await Task.WhenAll(groups);
    }
}
