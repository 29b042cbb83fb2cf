using System.Text;
using RabbitMQ.Client;

namespace Analytics.IntegrationTests;

/// <summary>The headers of a message taken from a queue (the refused and error queues' x-… and MT-… headers).</summary>
public static class MessageHeaders
{
    /// <summary>A header's value as text (RabbitMQ hands string headers over as UTF-8 bytes), null when the message has no such header.</summary>
    public static string? Header(BasicGetResult message, string name) =>
        message.BasicProperties.Headers?.TryGetValue(name, out var value) == true
            ? value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : value?.ToString()
            : null;
}
