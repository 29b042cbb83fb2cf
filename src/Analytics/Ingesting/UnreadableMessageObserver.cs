using MassTransit;
using Microsoft.Extensions.Logging;

namespace Analytics.Ingesting;

/// <summary>
/// Counts and logs messages that could not be read at all (not JSON): MassTransit moves them to the
/// error queue with the exception in the MT-Fault-* headers.
/// </summary>
public sealed partial class UnreadableMessageObserver(IngestionMetrics metrics, ILogger<UnreadableMessageObserver> logger) : IReceiveObserver
{
    public Task PreReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
        where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
        where T : class => Task.CompletedTask;

    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        if (context.InputAddress.AbsolutePath.EndsWith(IngestionTopology.Queue, StringComparison.Ordinal))
        {
            var code = exception is System.Runtime.Serialization.SerializationException
                ? Refusal.Codes.InvalidJson
                : Refusal.Codes.Unreadable;
            metrics.Refused(code);
            LogUnreadable(logger, context.TransportHeaders.Get<string>("message_id") ?? "(none)", code, exception.GetBaseException().Message);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused unreadable message {MessageId}: {Code}: {Reason}; moved to the error queue")]
    private static partial void LogUnreadable(ILogger logger, string messageId, string code, string reason);
}
