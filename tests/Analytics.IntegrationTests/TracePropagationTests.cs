using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Analytics.Contracts;
using Analytics.Ingesting;
using Analytics.Publisher;
using Analytics.Simulator;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;

namespace Analytics.IntegrationTests;

/// <summary>
/// One event followed from its producer's trace to the projection: the real worker exports its spans over OTLP to a
/// receiver in the test, which decodes them; the stored event keeps the trace context as Marten metadata.
/// </summary>
public sealed class TracePropagationTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private TestPlatform _platform = null!;
    private OtlpTraceReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _receiver = await OtlpTraceReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _platform.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task A_plain_json_event_with_a_traceparent_header_is_traced_through_consume_append_and_its_projection_page()
    {
        await _platform.StartWorkerAsync(ExportingTo(_receiver));
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var producerSpanId = ActivitySpanId.CreateRandom().ToHexString();
        var traceParent = $"00-{traceId}-{producerSpanId}-01";
        var started = TestConversations.Generate(1)[0];

        var channel = await _platform.OpenChannelAsync();
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = "application/json",
            MessageId = Guid.NewGuid().ToString(),
            Headers = new Dictionary<string, object?> { [TraceContextHeaders.TraceParent] = traceParent },
        };
        await channel.BasicPublishAsync(IngestionTopology.Exchange, string.Empty, mandatory: true, properties,
            Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new[] { FeedbackJson.ToElement(started) })));

        ExportedSpan? consume = null, append = null, page = null;
        await TestEnvironment.WaitUntilAsync(() =>
        {
            var spans = _receiver.Spans;
            consume = spans.FirstOrDefault(s => s.Name == "analytics-ingest process" && s.TraceId == traceId);
            append = spans.FirstOrDefault(s => s.Name == "feedback append" && s.TraceId == traceId);
            page = spans.FirstOrDefault(s => s.Name == "satisfaction page" && s.Links.Any(l => l.TraceId == traceId));
            return Task.FromResult(consume is not null && append is not null && page is not null);
        }, Timeout, () => Task.FromResult($"spans received:\n{_receiver.Describe()}"));

        // consume continues the producer's span, append is its child ...
        Assert.Equal(producerSpanId, consume!.ParentSpanId);
        Assert.Contains((traceId, producerSpanId), consume.Links);
        Assert.Equal("1", consume.Attributes["messaging.batch.message_count"]);
        Assert.Equal("1", consume.Attributes["analytics.events.accepted"]);
        Assert.Equal(consume.SpanId, append!.ParentSpanId);
        Assert.Equal("1", append.Attributes["analytics.events.appended"]);
        Assert.All(new[] { consume, append }, s => Assert.Equal("analytics-worker", s.Service));

        // ... the stored event remembers the producer's context ...
        var eventId = TestConversations.EventId(started);
        Assert.Equal(traceId, await _platform.ScalarAsync<string>($"select correlation_id from analytics.mt_events where id = '{eventId}'"));
        Assert.Equal(traceParent, await _platform.ScalarAsync<string>($"select causation_id from analytics.mt_events where id = '{eventId}'"));

        // ... and the projection page that wrote its row links to it (and, being the only trace of the page, joins it).
        Assert.Contains((traceId, producerSpanId), page!.Links);
        Assert.Equal(traceId, page.TraceId);
        Assert.Equal(producerSpanId, page.ParentSpanId);
        // The page's span ends when its statement has run inside the daemon's batch; the batch commits after it.
        var rowSql = $"select count(*) from analytics.sat_conversations where conversation_id = '{TestConversations.ConversationId(started)}'";
        await TestEnvironment.WaitUntilAsync(async () => await _platform.ScalarAsync<long>(rowSql) > 0, Timeout,
            () => Task.FromResult("the page's conversation row was never committed"));
        Assert.Equal(1L, await _platform.ScalarAsync<long>(rowSql));
    }

    [Fact]
    public async Task The_dotnet_publisher_carries_the_callers_trace_to_the_worker_and_the_stored_events()
    {
        await _platform.StartWorkerAsync(ExportingTo(_receiver));
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PublisherTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var events = TestConversations.Generate(2);

        string traceId;
        using (var chatService = Host.CreateDefaultBuilder()
            .ConfigureServices(services =>
            {
                // MassTransit's envelope (the publisher's default wire format), not plain JSON.
                services.AddMassTransit(bus => bus.UsingRabbitMq((_, rabbit) => rabbit.Host(_platform.PublisherAmqpUri, h => h.PublisherConfirmation = true)));
                services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
                services.AddFeedbackPublisher(o => o.MaxBatchSize = events.Count);
            })
            .Build())
        {
            await chatService.StartAsync();
            using (var request = new Activity("chat request").SetIdFormat(ActivityIdFormat.W3C).Start())
            {
                traceId = request.TraceId.ToHexString();
                await Task.WhenAll(events.Select(e => chatService.Services.GetRequiredService<FeedbackPublisher>().PublishAsync(e)));
            }

            await chatService.StopAsync();
        }

        // The append span ends before its parent consume span, so the two can reach the receiver in different exports:
        // wait for both.
        await TestEnvironment.WaitUntilAsync(
            () => Task.FromResult(_receiver.Spans.Any(s => s.Name == "feedback append" && s.TraceId == traceId)
                && _receiver.Spans.Any(s => s.Name == "analytics-ingest process" && s.TraceId == traceId)),
            Timeout, () => Task.FromResult($"no append and consume span in trace {traceId}; spans received:\n{_receiver.Describe()}"));
        var consume = _receiver.Spans.Single(s => s.Name == "analytics-ingest process" && s.TraceId == traceId);
        Assert.Equal($"{events.Count}", consume.Attributes["analytics.events.accepted"]);
        foreach (var e in events)
        {
            Assert.Equal(traceId, await _platform.ScalarAsync<string>(
                $"select correlation_id from analytics.mt_events where id = '{TestConversations.EventId(e)}'"));
        }
    }

    [Fact]
    public async Task The_simulator_traces_each_event_like_a_chat_request_and_the_worker_links_to_those_traces()
    {
        await _platform.StartWorkerAsync(ExportingTo(_receiver));
        var chatRequests = new ConcurrentDictionary<string, string>(); // eventId → trace id of its simulated chat request
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is SimulatorTracing.SourceName or PublisherTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == SimulatorTracing.SourceName && activity.GetTagItem("analytics.event_id") is string eventId)
                {
                    chatRequests[eventId] = activity.TraceId.ToHexString();
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        const int events = 20;
        var exitCode = await SimulatorRun.ExecuteAsync(new SimulatorSettings(_platform.PublisherAmqpUri, Seed: 17, Events: events, Rate: 0,
            DurationSeconds: 0, BatchSize: 1, Regression: null, DryRun: false, Start: null, ConversationsPerMinute: null), CancellationToken.None);
        Assert.Equal(0, exitCode);
        Assert.Equal(events, chatRequests.Count);

        // Every event is stored with the trace of the chat request that published it ...
        await TestEnvironment.WaitUntilAsync(async () => await _platform.StoredEventCountAsync() >= events, Timeout,
            async () => $"stored {await _platform.StoredEventCountAsync()} of {events}");
        foreach (var (eventId, traceId) in chatRequests)
        {
            Assert.Equal(traceId, await _platform.ScalarAsync<string>($"select correlation_id from analytics.mt_events where id = '{eventId}'"));
        }

        // ... and the worker's consume spans continue or link to every one of those traces.
        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(chatRequests.Values.All(trace => _receiver.Spans.Any(s =>
                s.Name == "analytics-ingest process" && (s.TraceId == trace || s.Links.Any(l => l.TraceId == trace))))),
            Timeout, () => Task.FromResult($"chat traces {string.Join(", ", chatRequests.Values)}; spans received:\n{_receiver.Describe()}"));
    }

    /// <summary>The worker's OTLP exporter pointed at the receiver, exporting spans every 100 ms.</summary>
    private static Dictionary<string, string> ExportingTo(OtlpTraceReceiver receiver) => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
    };
}
