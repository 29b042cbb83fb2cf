using System.Diagnostics;
using System.Threading.Channels;
using Analytics.Contracts;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Analytics.Publisher;

/// <summary>
/// Buffers contract events and sends them to the ingestion exchange in batches (by count or time, as
/// OpenTelemetry exporters do). The task returned by <see cref="PublishAsync"/> completes when the
/// broker has confirmed the message that carries the event; a send that fails is retried with backoff,
/// so events are not dropped while the broker restarts.
/// </summary>
public sealed partial class FeedbackPublisher(
    ISendEndpointProvider sendEndpoints,
    IOptions<FeedbackPublisherOptions> options,
    ILogger<FeedbackPublisher> logger) : BackgroundService
{
    private readonly FeedbackPublisherOptions _options = options.Value;
    private readonly Channel<Pending> _buffer = Channel.CreateBounded<Pending>(new BoundedChannelOptions(options.Value.Capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>
    /// Queues one event; the task completes once the broker confirmed it. The caller's trace context
    /// (<see cref="Activity.Current"/>) travels with the event (<see cref="PublisherTracing"/>).
    /// </summary>
    public async Task PublishAsync(object contractEvent, CancellationToken cancellationToken = default)
    {
        var pending = new Pending(FeedbackJson.ToElement(contractEvent), Activity.Current?.Context);
        await _buffer.Writer.WriteAsync(pending, cancellationToken);
        await pending.Confirmed.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Sends the given events now as one message (at most 1000 events), bypassing the buffer.</summary>
    public async Task SendBatchAsync(IEnumerable<object> contractEvents, CancellationToken cancellationToken = default)
    {
        var message = FeedbackEventBatch.From(contractEvents);
        using var span = PublisherTracing.StartPublish(_options.Destination, message.Events.Count,
            Activity.Current is { } current ? [current.Context] : [], out var traceParent);
        var endpoint = await sendEndpoints.GetSendEndpoint(_options.Destination);
        await endpoint.Send(message, send => SendTraced(send, traceParent), cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var inFlight = new List<Task>();
        var batch = new List<Pending>(_options.MaxBatchSize);
        var reader = _buffer.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                using var window = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                window.CancelAfter(_options.FlushInterval);
                try
                {
                    while (batch.Count < _options.MaxBatchSize)
                    {
                        if (reader.TryRead(out var next))
                        {
                            batch.Add(next);
                        }
                        else if (!await reader.WaitToReadAsync(window.Token))
                        {
                            break;
                        }
                    }
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // flush interval elapsed: send what we have
                }

                inFlight.Add(SendWithRetryAsync([.. batch], stoppingToken));
                batch.Clear();
                if (inFlight.Count >= _options.MaxInFlightMessages)
                {
                    var done = await Task.WhenAny(inFlight);
                    inFlight.Remove(done);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Drain on shutdown: whatever was queued is still sent.
        while (reader.TryRead(out var rest))
        {
            batch.Add(rest);
        }

        if (batch.Count > 0)
        {
            inFlight.Add(SendWithRetryAsync([.. batch], CancellationToken.None));
        }

        await Task.WhenAll(inFlight);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _buffer.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private async Task SendWithRetryAsync(Pending[] batch, CancellationToken stoppingToken)
    {
        var message = new FeedbackEventBatch(batch.Select(p => p.Event).ToList());
        using var span = PublisherTracing.StartPublish(_options.Destination, batch.Length, batch.Select(p => p.Caller), out var traceParent);
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var endpoint = await sendEndpoints.GetSendEndpoint(_options.Destination);
                await endpoint.Send(message, send => SendTraced(send, traceParent), CancellationToken.None);
                foreach (var pending in batch)
                {
                    pending.Confirmed.TrySetResult();
                }

                return;
            }
            catch (Exception ex) when (attempt < 1000 && !(stoppingToken.IsCancellationRequested && attempt > 20))
            {
                LogRetry(logger, batch.Length, attempt, ex.Message);
                await Task.Delay(delay, CancellationToken.None);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
            }
            catch (Exception ex)
            {
                span?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                foreach (var pending in batch)
                {
                    pending.Confirmed.TrySetException(ex);
                }

                return;
            }
        }
    }

    /// <summary>
    /// Persistent and mandatory: until the platform has bound its queue the broker returns the message and the
    /// send fails (and is retried), instead of being confirmed and dropped.
    /// </summary>
    private static void DurableAndMandatory(SendContext<FeedbackEventBatch> context)
    {
        context.Durable = true;
        if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
        {
            rabbit.Mandatory = true;
        }
    }

    /// <summary>Durable and mandatory, with the publish span's W3C trace context in the <c>traceparent</c> header.</summary>
    private static void SendTraced(SendContext<FeedbackEventBatch> context, string? traceParent)
    {
        DurableAndMandatory(context);
        PublisherTracing.Inject(context.Headers, traceParent);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending {Count} feedback events failed (attempt {Attempt}): {Error}; retrying")]
    private static partial void LogRetry(ILogger logger, int count, int attempt, string error);

    private sealed class Pending(System.Text.Json.JsonElement @event, ActivityContext? caller)
    {
        public System.Text.Json.JsonElement Event { get; } = @event;

        public ActivityContext? Caller { get; } = caller;

        public TaskCompletionSource Confirmed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
