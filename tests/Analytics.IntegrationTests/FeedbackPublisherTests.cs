using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Analytics.Contracts;
using Analytics.Ingesting;
using Analytics.Publisher;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Analytics.IntegrationTests;

/// <summary>
/// The .NET publisher library (src/Analytics.Publisher) against the real broker, as the chat services' user: a send
/// before any queue is bound to the ingestion exchange is returned by the broker and retried until a queue is bound
/// (never confirmed and dropped); a full buffer makes <c>PublishAsync</c> wait for room; <c>SendBatchAsync</c> sends its
/// events at once as one message. A queue of the test's own, bound to the exchange, sees what the worker would get.
/// </summary>
public sealed class FeedbackPublisherTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private const string CopyQueue = "publisher-test-copy";
    private readonly ConcurrentQueue<string> _log = new();
    private TestPlatform _platform = null!;

    public async Task InitializeAsync() => _platform = await TestPlatform.CreateAsync();

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task SendBatchAsync_sends_its_events_at_once_as_one_durable_message_with_the_callers_trace()
    {
        await using var admin = await _platform.OpenAdminChannelAsync();
        await BindCopyQueueAsync(admin);
        using var chatService = ChatServiceHost(o => o.FlushInterval = TimeSpan.FromHours(1)); // the buffer would never flush by time
        await chatService.StartAsync();
        var events = TestConversations.Generate(3);

        using (var request = new Activity("chat request").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            await chatService.Services.GetRequiredService<FeedbackPublisher>().SendBatchAsync(events);
            var message = Assert.IsType<BasicGetResult>(await admin.BasicGetAsync(CopyQueue, autoAck: true));
            Assert.Equal(events.Select(TestConversations.EventId), EventIds(message));
            Assert.Equal(DeliveryModes.Persistent, message.BasicProperties.DeliveryMode);
            var traceParent = Header(message, TraceContextHeaders.TraceParent);
            Assert.NotNull(traceParent);
            Assert.Equal(request.TraceId.ToHexString(), traceParent.Split('-')[1]);
        }

        Assert.Null(await admin.BasicGetAsync(CopyQueue, autoAck: true)); // one message, not one per event
        await chatService.StopAsync();
    }

    [Fact]
    public async Task A_publish_before_any_queue_is_bound_is_retried_and_completes_only_once_a_queue_takes_it()
    {
        using var chatService = ChatServiceHost(o => o.MaxBatchSize = 10);
        await chatService.StartAsync();
        var publisher = chatService.Services.GetRequiredService<FeedbackPublisher>();
        var events = TestConversations.Generate(5); // 20 events: two messages
        var confirmations = events.Select(e => publisher.PublishAsync(e)).ToList();

        // The broker returns the mandatory message (no queue is bound): the send fails, is retried, and nothing is confirmed.
        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(_log.Any(l => l.Contains("(attempt 2)", StringComparison.Ordinal))), Timeout,
            () => Task.FromResult($"no retried send logged:\n{string.Join('\n', _log)}"));
        Assert.All(confirmations, c => Assert.False(c.IsCompleted, "an event was confirmed while no queue could take it"));

        await using var admin = await _platform.OpenAdminChannelAsync();
        await BindCopyQueueAsync(admin);
        await Task.WhenAll(confirmations).WaitAsync(Timeout);

        // Every event arrived once.
        var received = (await DrainAsync(admin)).SelectMany(EventIds).ToList();
        Assert.Equal(events.Select(TestConversations.EventId).Order(), received.Order());
        await chatService.StopAsync();
    }

    [Fact]
    public async Task With_its_buffer_full_PublishAsync_waits_for_room_and_an_event_that_stopped_waiting_is_never_sent()
    {
        const int capacity = 5;
        using var chatService = ChatServiceHost(o =>
        {
            o.Capacity = capacity;
            o.MaxBatchSize = 1;
            o.MaxInFlightMessages = 1;
            o.FlushInterval = TimeSpan.FromMilliseconds(10);
        });
        await chatService.StartAsync();
        var publisher = chatService.Services.GetRequiredService<FeedbackPublisher>();
        var events = TestConversations.Generate(2).Take(capacity + 3).ToList();

        // The first event is taken from the buffer and its send fails (no queue bound): the one message in flight.
        var inFlight = publisher.PublishAsync(events[0]);
        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(_log.Any(l => l.Contains("(attempt 1)", StringComparison.Ordinal))), Timeout,
            () => Task.FromResult($"no failed send logged:\n{string.Join('\n', _log)}"));
        // The next ones fill the buffer; one more has no room and waits, until its caller stops waiting.
        var buffered = events.Skip(1).Take(capacity).Select(e => publisher.PublishAsync(e)).ToList();
        using var giveUp = new CancellationTokenSource();
        var waiting = publisher.PublishAsync(events[capacity + 1], giveUp.Token);
        Assert.False(waiting.IsCompleted);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        await using var admin = await _platform.OpenAdminChannelAsync();
        await BindCopyQueueAsync(admin);
        await Task.WhenAll(buffered.Prepend(inFlight)).WaitAsync(Timeout);
        // One message in flight at a time, in order: once a last event is confirmed, everything queued before it was sent.
        await publisher.PublishAsync(events[capacity + 2]).WaitAsync(Timeout);

        var received = (await DrainAsync(admin)).SelectMany(EventIds).ToList();
        Assert.Equal(events.Take(capacity + 1).Append(events[capacity + 2]).Select(TestConversations.EventId), received);
        await chatService.StopAsync();
    }

    private static async Task BindCopyQueueAsync(IChannel admin)
    {
        await admin.ExchangeDeclareAsync(IngestionTopology.Exchange, ExchangeType.Fanout, durable: true);
        await admin.QueueDeclareAsync(CopyQueue, durable: true, exclusive: false, autoDelete: false);
        await admin.QueueBindAsync(CopyQueue, IngestionTopology.Exchange, string.Empty);
    }

    private static async Task<List<BasicGetResult>> DrainAsync(IChannel admin)
    {
        var messages = new List<BasicGetResult>();
        while (await admin.BasicGetAsync(CopyQueue, autoAck: true) is { } message)
        {
            messages.Add(message);
        }

        return messages;
    }

    /// <summary>The eventIds a message carries, in order (the body is MassTransit's envelope or plain JSON).</summary>
    private static List<Guid> EventIds(BasicGetResult message)
    {
        var body = JsonSerializer.Deserialize<JsonElement>(message.Body.Span);
        var events = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("message", out var inner) ? inner : body;
        return [.. (events.ValueKind == JsonValueKind.Array ? events.EnumerateArray() : new[] { events }.AsEnumerable())
            .Select(e => e.GetProperty("eventId").GetGuid())];
    }

    private static string? Header(BasicGetResult message, string name) =>
        message.BasicProperties.Headers?.TryGetValue(name, out var value) == true
            ? value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : value?.ToString()
            : null;

    /// <summary>A chat service: its own MassTransit bus as the publishers' user, the publisher library, its log collected.</summary>
    private IHost ChatServiceHost(Action<FeedbackPublisherOptions> configure) => Host.CreateDefaultBuilder()
        .ConfigureLogging(logging => logging.ClearProviders().AddProvider(new CollectingLoggerProvider(_log)))
        .ConfigureServices(services =>
        {
            services.AddMassTransit(bus => bus.UsingRabbitMq((_, rabbit) => rabbit.Host(_platform.PublisherAmqpUri, h => h.PublisherConfirmation = true)));
            services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
            services.AddFeedbackPublisher(configure);
        })
        .Build();

    private sealed class CollectingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Collector(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Collector(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel) && category == typeof(FeedbackPublisher).FullName)
                {
                    lines.Enqueue(formatter(state, exception));
                }
            }
        }
    }
}
