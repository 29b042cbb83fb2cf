using Analytics.Alerting;
using RabbitMQ.Client;

namespace Analytics.IntegrationTests;

/// <summary>A queue bound to the alert exchange for every regression notification, as another service subscribes.</summary>
public static class AlertSubscriberQueue
{
    /// <summary>Declares the exchange (the worker may not have yet), the durable queue "alerts-subscriber" and its binding; returns the queue's name.</summary>
    public static async Task<string> DeclareAsync(IChannel channel)
    {
        await channel.ExchangeDeclareAsync(AlertNotification.Exchange, ExchangeType.Topic, durable: true);
        var queue = (await channel.QueueDeclareAsync("alerts-subscriber", durable: true, exclusive: false, autoDelete: false)).QueueName;
        await channel.QueueBindAsync(queue, AlertNotification.Exchange, "regression.*");
        return queue;
    }
}
