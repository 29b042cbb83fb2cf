using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Analytics.Access;
using Analytics.Contracts;
using Analytics.Ingesting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using RabbitMQ.Client;

namespace Analytics.IntegrationTests;

/// <summary>
/// Input limits (docs/contracts.md, docs/security.md): oversized and malformed input, sent to the broker and the API
/// at the same time as valid traffic, is refused with a clear reason and counted, and the valid traffic is still
/// stored and served.
/// </summary>
public sealed class InputLimitTests : IAsyncLifetime
{
    private const string FloodKey = "flood-test-key";
    private const int PermitsPerClient = 40;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private TestPlatform _platform = null!;
    private WebApplicationFactory<Program> _api = null!;
    private WorkerProcess _worker = null!;
    private Uri _apiAddress = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _worker = await _platform.StartWorkerAsync();
        _api = new WebApplicationFactory<Program>().WithWebHostBuilder(host => ApiClients.UsePlatform(host, _platform)
            .UseSetting("Urls", ApiClients.AnyLoopbackPort)
            .UseSetting("Auth:ApiKeys:flood:Owner", "flood").UseSetting("Auth:ApiKeys:flood:Role", ApiKeyAuthentication.Roles.Viewer)
            .UseSetting("Auth:ApiKeys:flood:Key", FloodKey)
            .UseSetting("RequestLimits:PermitsPerWindow", PermitsPerClient.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .UseSetting("RequestLimits:WindowSeconds", "600")); // no refill during the test
        _apiAddress = ApiClients.StartOnKestrel(_api); // the size limits are Kestrel's: the in-memory test server has none
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _platform.DisposeAsync();
    }

    [Fact]
    public async Task Oversized_and_malformed_input_is_refused_and_counted_while_valid_traffic_is_stored_and_served()
    {
        var valid = TestConversations.Generate(40);
        var validClient = Client("local-dev-viewer-key");
        var anonymous = Client(key: null);
        var flooder = Client(FloodKey);
        var triager = Client("local-dev-triager-key");

        // Valid events, in small messages, while everything else happens.
        var publishValid = Task.Run(async () =>
        {
            await using var channel = await _platform.OpenChannelAsync();
            foreach (var chunk in valid.Chunk(10))
            {
                await _platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(chunk)));
            }
        });

        // Over the contract's 1 MiB, under the broker's 2 MiB: the worker refuses it with message_too_large.
        const int tooLargeForTheWorker = 5;
        var publishTooLarge = Task.Run(async () =>
        {
            await using var channel = await _platform.OpenChannelAsync();
            var padded = "[" + new string(' ', ContractLimits.MaxMessageBytes + 1000) + "]";
            for (var i = 0; i < tooLargeForTheWorker; i++)
            {
                await _platform.PublishRawAsync(channel, padded);
            }
        });

        // Over the broker's max_message_size: refused by RabbitMQ itself, which closes the publisher's channel (406).
        var publishTooLargeForTheBroker = Task.Run(async () =>
        {
            var closeReasons = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                await using var channel = await _platform.OpenChannelAsync();
                try
                {
                    await _platform.PublishRawAsync(channel, "[" + new string(' ', 3 * 1024 * 1024) + "]");
                }
                catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException
                    or RabbitMQ.Client.Exceptions.PublishException)
                {
                }

                await TestEnvironment.WaitUntilAsync(() => Task.FromResult(channel.IsClosed), TimeSpan.FromSeconds(10), () => Task.FromResult("channel still open"));
                closeReasons.Add($"{channel.CloseReason?.ReplyCode} {channel.CloseReason?.ReplyText}");
            }

            return closeReasons;
        });

        // Not JSON, and JSON that is not a contract event.
        const int notJson = 10;
        const int notEvents = 10;
        var publishMalformed = Task.Run(async () =>
        {
            await using var channel = await _platform.OpenChannelAsync();
            for (var i = 0; i < notJson; i++)
            {
                await _platform.PublishRawAsync(channel, "{\"type\": \"ResponseRated\", \"eventId\": " + i);
            }

            for (var i = 0; i < notEvents; i++)
            {
                await _platform.PublishRawAsync(channel, $$"""[{"type":"ResponseLoved","eventId":"{{Guid.NewGuid()}}"}]""");
            }
        });

        // The API: one client floods it, others send oversized or malformed requests; a well-behaved client reads.
        var flood = Task.WhenAll(Enumerable.Range(0, 5 * PermitsPerClient).Select(_ => flooder.GetAsync("/api/models")));
        var oversizedBody = triager.PostAsync($"/api/triage/clusters/{Guid.NewGuid()}/assign",
            JsonContent.Create(new { assignee = new string('x', 200 * 1024) }));
        var longQuery = validClient.GetAsync("/api/satisfaction/matrix?model=" + new string('m', 8 * 1024));
        var badQuery = validClient.GetAsync("/api/satisfaction/matrix?from=yesterday");
        var health = Task.WhenAll(Enumerable.Range(0, 100).Select(_ => anonymous.GetAsync("/health")));
        // /metrics is never rate-limited either: the flooding client scrapes it far beyond its permits.
        var metrics = Task.WhenAll(Enumerable.Range(0, 3 * PermitsPerClient).Select(_ => flooder.GetAsync("/metrics")));
        // Request headers over 16 KiB in total (MaxRequestHeadersBytes 16384): 431; just under: served.
        var bigHeaders = Client("local-dev-viewer-key");
        bigHeaders.DefaultRequestHeaders.Add("X-Padding", new string('h', 17 * 1024));
        var tooLargeHeaders = bigHeaders.GetAsync("/api/models");
        var nearHeaders = Client("local-dev-viewer-key");
        nearHeaders.DefaultRequestHeaders.Add("X-Padding", new string('h', 15 * 1024));
        var underHeaderLimit = nearHeaders.GetAsync("/api/models");
        var validReads = Task.WhenAll(Enumerable.Range(0, 10).Select(_ => validClient.GetAsync("/api/models")));

        await Task.WhenAll(publishValid, publishTooLarge, publishTooLargeForTheBroker, publishMalformed, flood, oversizedBody, longQuery, badQuery, health, validReads,
            metrics, tooLargeHeaders, underHeaderLimit);

        // API: the abusive client got 429 with problem details once over its limit; everyone else was served.
        var flooded = await flood;
        var statuses = string.Join(", ", flooded.GroupBy(r => (int)r.StatusCode).Select(g => $"{g.Key}×{g.Count()}"));
        Assert.True(PermitsPerClient == flooded.Count(r => r.StatusCode == HttpStatusCode.OK), $"flooding client: {statuses}; {await flooded[^1].Content.ReadAsStringAsync()}");
        var tooMany = flooded.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(4 * PermitsPerClient, tooMany.Count);
        Assert.All(tooMany, r => Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType));
        Assert.All(tooMany, r => Assert.True(r.Headers.RetryAfter is not null, "429 without Retry-After"));
        var problem = await tooMany[0].Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await oversizedBody).StatusCode);
        Assert.Equal(HttpStatusCode.RequestUriTooLong, (await longQuery).StatusCode);
        var bad = await badQuery;
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        Assert.All(await health, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.All(await metrics, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, (await tooLargeHeaders).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await underHeaderLimit).StatusCode);
        Assert.All(await validReads, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));

        // Broker: the oversized messages never got in, and the producer was told why.
        Assert.All(await publishTooLargeForTheBroker, reason => Assert.StartsWith("406 PRECONDITION_FAILED - message size", reason));

        // Worker: every valid event stored; the rest refused with its reason, kept in a queue and counted.
        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.StoredEventCountAsync() == valid.Count
                && await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= tooLargeForTheWorker + notEvents
                && await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue) >= notJson,
            Timeout,
            async () => $"stored {await _platform.StoredEventCountAsync()}/{valid.Count}, refused {await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)}, "
                + $"errors {await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue)}\n{_worker.Output}");
        await _platform.WaitUntilQuietAsync(IngestionTopology.Queue, Timeout);
        Assert.Equal(valid.Select(TestConversations.EventId).Order(), (await _platform.StoredEventsAsync()).Keys.Order());
        Assert.Equal(tooLargeForTheWorker, await _worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{Refusal.Codes.MessageTooLarge}\""));
        Assert.Equal(notEvents, await _worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{Refusal.Codes.UnknownType}\""));
        Assert.Equal(notJson, await _worker.MetricAsync("analytics_ingest_events_refused_total", $"reason=\"{Refusal.Codes.InvalidJson}\""));
        var refused = await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue);
        var tooLarge = refused.Where(m => Header(m, IngestionTopology.RefusalCodeHeader) == Refusal.Codes.MessageTooLarge).ToList();
        Assert.Equal(tooLargeForTheWorker, tooLarge.Count);
        Assert.All(tooLarge, m => Assert.Contains("the limit is 1048576", Header(m, IngestionTopology.RefusalReasonHeader)));

        // And the stored events are served.
        var conversation = TestConversations.ConversationId(valid[0]);
        var events = await validClient.GetFromJsonAsync<JsonElement>($"/api/conversations/{conversation}/events");
        Assert.Equal(4, events.GetArrayLength()); // the conversation's four events (TestConversations: started, two responses, a rating)
    }

    private HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = _apiAddress };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add(ApiKeyAuthentication.HeaderName, key);
        }

        return client;
    }

    private static string? Header(BasicGetResult message, string name) =>
        message.BasicProperties.Headers?.TryGetValue(name, out var value) == true
            ? value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : value?.ToString()
            : null;

}
