using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Analytics.Contracts;
using Analytics.FaultTests;
using Analytics.Ingesting;
using Analytics.Redacting;
using CsCheck;
using Npgsql;
using Xunit.Abstractions;

namespace Analytics.IntegrationTests;

/// <summary>
/// The content fuzz suite (docs/reliability.md, "Hostile content"): CsCheck generates arbitrary Unicode for every text
/// field of the four events (<see cref="HostileText"/>), mixed into messages of valid events and published as plain JSON
/// bytes through the real worker. Every run checks that each event is stored exactly once with its text as sent (after
/// redaction) or refused alone with one of the reasons its text calls for; that its batch-mates are stored; that the
/// satisfaction projection and the triage clusterer catch up and the views equal a recount from the event store; and
/// that the API returns every stored text as stored, in valid JSON.
/// <para>
/// Seeded and reproducible: the seed is printed; <c>ANALYTICS_FUZZ_SEED=&lt;seed&gt;</c> runs the same cases again,
/// <c>ANALYTICS_FUZZ_CONVERSATIONS</c> sets how many conversations are generated (default 150, six events each).
/// </para>
/// </summary>
public sealed class HostileContentFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int EventsPerConversation = 6;
    private const int ConversationsPerMessage = 5;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);
    private TestPlatform _platform = null!;

    public async Task InitializeAsync() => _platform = await TestPlatform.CreateAsync();

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Generated_hostile_text_in_every_field_is_stored_as_sent_or_refused_alone_and_nothing_downstream_stalls_or_differs()
    {
        var seed = Environment.GetEnvironmentVariable("ANALYTICS_FUZZ_SEED") is { Length: > 0 } given
            ? ulong.Parse(given, CultureInfo.InvariantCulture)
            : (ulong)Random.Shared.NextInt64();
        var conversations = int.Parse(Environment.GetEnvironmentVariable("ANALYTICS_FUZZ_CONVERSATIONS") ?? "150", CultureInfo.InvariantCulture);
        var repeat = $"ANALYTICS_FUZZ_SEED={seed} ANALYTICS_FUZZ_CONVERSATIONS={conversations}";
        output.WriteLine($"content fuzz: seed {seed} ({repeat} to repeat)");
        Console.WriteLine($"[content fuzz] seed {seed} ({repeat} to repeat)");

        var generator = new FuzzConversations(new PCG(1, seed));
        var fuzz = Enumerable.Range(0, conversations).Select(_ => generator.Next()).ToList();
        var fuzzEvents = fuzz.SelectMany(c => c).ToList();
        var valid = new List<object>();
        var messages = new List<byte[]>();
        foreach (var group in fuzz.Chunk(ConversationsPerMessage))
        {
            // Each message: generated conversations between the events of two ordinary conversations.
            var mates = TestConversations.Generate(2);
            valid.AddRange(mates);
            var elements = mates.Take(4).Select(e => Encoding.UTF8.GetBytes(FeedbackJson.ToElement(e).GetRawText()))
                .Concat(group.SelectMany(c => c).Select(e => e.Json))
                .Concat(mates.Skip(4).Select(e => Encoding.UTF8.GetBytes(FeedbackJson.ToElement(e).GetRawText())));
            messages.Add(JoinArray(elements));
        }

        var expectedStored = fuzzEvents.Where(e => e.ExpectedCodes.Count == 0).Select(e => e.EventId)
            .Concat(valid.Select(TestConversations.EventId)).ToHashSet();
        var expectedRefused = fuzzEvents.Where(e => e.ExpectedCodes.Count > 0).ToList();
        var coverage = generator.Coverage(fuzzEvents, messages.Count);
        output.WriteLine(coverage);
        Console.WriteLine($"[content fuzz] {coverage}");

        var worker = await _platform.StartWorkerAsync();
        await using (var channel = await _platform.OpenChannelAsync())
        {
            foreach (var message in messages)
            {
                await PublishBytesAsync(channel, message);
            }
        }

        await TestEnvironment.WaitUntilAsync(
            async () => await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue) > 0
                || (await _platform.StoredEventCountAsync() >= expectedStored.Count
                    && await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= expectedRefused.Count),
            Timeout,
            async () => $"{repeat}: stored {await _platform.StoredEventCountAsync()} of {expectedStored.Count}, refused {await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)} of {expectedRefused.Count}\n{worker.Output}");

        // No message failed as a whole: every event was stored or refused alone.
        Assert.True(await _platform.ReadySoFarAsync(IngestionTopology.ErrorQueue) == 0,
            $"{repeat}: a message went to the error queue\n{worker.Output}");
        var stored = await _platform.StoredEventsAsync();
        Assert.True(expectedStored.SetEquals(stored.Keys),
            $"{repeat}: stored set differs; missing {string.Join(", ", expectedStored.Except(stored.Keys).Take(5).Select(id => Describe(fuzzEvents, id)))}; "
            + $"unexpected {string.Join(", ", stored.Keys.Except(expectedStored).Take(5).Select(id => Describe(fuzzEvents, id)))}");
        Assert.All(stored.Values, row => Assert.Equal(1, row.Count));

        // Each refused event alone, with one of the reasons its content calls for.
        var refused = await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue);
        Assert.Equal(expectedRefused.Count, refused.Count);
        var byEventId = refused.Where(m => Header(m, IngestionTopology.EventIdHeader) is not null)
            .ToDictionary(m => Guid.Parse(Header(m, IngestionTopology.EventIdHeader)!), m => Header(m, IngestionTopology.RefusalCodeHeader)!);
        foreach (var e in expectedRefused.Where(e => !e.ExpectedCodes.Contains(Refusal.Codes.InvalidJson)))
        {
            Assert.True(byEventId.TryGetValue(e.EventId, out var code) && e.ExpectedCodes.Contains(code),
                $"{repeat}: {e.Type} {e.EventId} ({e.Describe()}) expected {string.Join("|", e.ExpectedCodes)}, got {code ?? "nothing"}");
        }

        // Kept as redacted copies (the default): each is JSON that parses, whatever the event held.
        Assert.All(refused, m =>
        {
            Assert.Equal("redacted", Header(m, IngestionTopology.RefusedCopyHeader));
            using var copy = JsonDocument.Parse(m.Body);
            Assert.Equal(JsonValueKind.Array, copy.RootElement.ValueKind);
        });
        Assert.Equal(expectedRefused.Count(e => e.ExpectedCodes.Contains(Refusal.Codes.InvalidJson)),
            refused.Count(m => Header(m, IngestionTopology.RefusalCodeHeader) == Refusal.Codes.InvalidJson));
        // Counted just after each refusal is sent: wait for the last count rather than race it.
        await TestEnvironment.WaitUntilAsync(async () => await worker.MetricAsync("analytics_ingest_events_refused_total") >= expectedRefused.Count,
            Timeout, async () => $"{repeat}: refusals counted {await worker.MetricAsync("analytics_ingest_events_refused_total")}");
        Assert.Equal(expectedRefused.Count, await worker.MetricAsync("analytics_ingest_events_refused_total"));

        // Stored texts are the texts sent (comments and excerpts after redaction).
        var storedTexts = await StoredTextsAsync(fuzzEvents.Where(e => e.ExpectedCodes.Count == 0));
        foreach (var e in fuzzEvents.Where(e => e.ExpectedCodes.Count == 0))
        {
            foreach (var (path, text) in e.ExpectedTexts)
            {
                Assert.True(storedTexts[e.EventId].TryGetValue(path, out var actual) && actual == text,
                    $"{repeat}: {e.Type} {e.EventId} {path} stored differently ({e.Describe()})");
            }
        }

        // The projections catch up and the satisfaction views equal the recount from the event store.
        await TestEnvironment.WaitUntilAsync(async () => await _platform.ProjectionCaughtUpAsync() && await _platform.ClustererCaughtUpAsync(),
            Timeout, async () => $"{repeat}: projection caught up {await _platform.ProjectionCaughtUpAsync()}, clusterer {await _platform.ClustererCaughtUpAsync()}\n{worker.Output}");
        Assert.True(await ViewRecount.DifferencesAsync(_platform.ConnectionString) == 0,
            $"{repeat}: views differ from the recount: {string.Join("; ", ViewRecount.LastDifferences)}");

        // The API returns each stored text as stored, in valid JSON.
        await using var api = ApiClients.For(_platform);
        using var client = ApiClients.Viewer(api);
        foreach (var conversation in fuzz)
        {
            var conversationId = conversation[0].ConversationId;
            var events = await GetJsonAsync(client, $"/api/conversations/{conversationId}/events", repeat);
            var served = events.EnumerateArray().ToDictionary(e => e.GetProperty("eventId").GetGuid(), e => e.GetProperty("data"));
            foreach (var e in conversation.Where(e => e.ExpectedCodes.Count == 0))
            {
                foreach (var (path, text) in e.ExpectedTexts)
                {
                    Assert.True(At(served[e.EventId], path) == text, $"{repeat}: /events served {e.Type} {e.EventId} {path} differently ({e.Describe()})");
                }
            }

            var detail = await GetJsonAsync(client, $"/api/conversations/{conversationId}", repeat, allowNotFound: true);
            if (detail.ValueKind == JsonValueKind.Undefined)
            {
                Assert.DoesNotContain(conversation, e => e.ExpectedCodes.Count == 0);
                continue;
            }

            CheckDetail(conversation, detail, repeat);
        }

        Console.WriteLine($"[content fuzz] {fuzzEvents.Count} generated events ({expectedStored.Count(id => fuzzEvents.Any(e => e.EventId == id))} stored, "
            + $"{expectedRefused.Count} refused) among {valid.Count} valid batch-mates in {messages.Count} messages: all checks passed");
    }

    /// <summary>The drill-down shows the stored texts: surface, locale, experiment, each turn's model and excerpts, each rating's comment.</summary>
    private static void CheckDetail(IReadOnlyList<FuzzEvent> conversation, JsonElement detail, string repeat)
    {
        var started = conversation.Single(e => e.Type == nameof(ConversationStarted));
        if (started.ExpectedCodes.Count == 0)
        {
            foreach (var (path, property) in new[] { ("surface", "surface"), ("locale", "locale"), ("experiment.id", "experimentId"), ("experiment.arm", "experimentArm") })
            {
                Assert.True(detail.GetProperty(property).GetString() == started.ExpectedTexts[path], $"{repeat}: drill-down {property} differs ({started.Describe()})");
            }
        }

        var turns = detail.GetProperty("turns").EnumerateArray().ToDictionary(t => t.GetProperty("turnId").GetGuid());
        foreach (var response in conversation.Where(e => e.Type == nameof(ResponseGenerated) && e.ExpectedCodes.Count == 0))
        {
            var turn = turns[response.TurnId];
            foreach (var (path, property) in new[] { ("model.id", "modelId"), ("model.version", "modelVersion"), ("model.variant", "modelVariant"),
                         ("promptExcerpt", "promptExcerpt"), ("responseExcerpt", "responseExcerpt") })
            {
                if (response.ExpectedTexts.TryGetValue(path, out var expected))
                {
                    Assert.True(turn.GetProperty(property).GetString() == expected, $"{repeat}: drill-down {property} differs ({response.Describe()})");
                }
            }
        }

        var rating = conversation.Single(e => e.Type == nameof(ResponseRated));
        if (rating.ExpectedCodes.Count == 0)
        {
            var current = turns[rating.TurnId].GetProperty("rating");
            Assert.True(current.GetProperty("comment").GetString() == rating.ExpectedTexts["comment"], $"{repeat}: drill-down comment differs ({rating.Describe()})");
        }
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path, string repeat, bool allowNotFound = false)
    {
        using var response = await client.GetAsync(path);
        if (allowNotFound && response.StatusCode == HttpStatusCode.NotFound)
        {
            return default;
        }

        Assert.True(response.IsSuccessStatusCode, $"{repeat}: GET {path} answered {(int)response.StatusCode}");
        var body = await response.Content.ReadAsByteArrayAsync();
        try
        {
            // Valid JSON, and every string in it valid text: JsonDocument refuses broken UTF-8, GetString an unpaired surrogate escape.
            var json = JsonSerializer.Deserialize<JsonElement>(body);
            VisitStrings(json);
            return json;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            Assert.Fail($"{repeat}: GET {path} is not valid JSON text: {ex.Message}");
            throw;
        }
    }

    private static void VisitStrings(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                Assert.Null(TextRules.CheckFreeText(element.GetString()!));
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    VisitStrings(item);
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    VisitStrings(property.Value);
                }

                break;
        }
    }

    private static string? At(JsonElement element, string path)
    {
        foreach (var name in path.Split('.'))
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return null;
            }
        }

        return element.ValueKind == JsonValueKind.String ? element.GetString() : null;
    }

    private async Task<Dictionary<Guid, Dictionary<string, string?>>> StoredTextsAsync(IEnumerable<FuzzEvent> events)
    {
        var wanted = events.ToDictionary(e => e.EventId);
        await using var connection = new NpgsqlConnection(_platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select id, data::text from analytics.mt_events where id = any(@ids)", connection);
        command.Parameters.AddWithValue("ids", wanted.Keys.ToArray());
        var texts = new Dictionary<Guid, Dictionary<string, string?>>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var data = JsonSerializer.Deserialize<JsonElement>(reader.GetString(1));
            texts[reader.GetGuid(0)] = wanted[reader.GetGuid(0)].ExpectedTexts.Keys.ToDictionary(path => path, path => At(data, path));
        }

        return texts;
    }

    private static string Describe(List<FuzzEvent> events, Guid id) =>
        events.FirstOrDefault(e => e.EventId == id) is { } e ? $"{e.Type} {id} ({e.Describe()})" : $"batch-mate {id}";

    private static byte[] JoinArray(IEnumerable<byte[]> elements)
    {
        var body = new List<byte> { (byte)'[' };
        foreach (var element in elements)
        {
            if (body.Count > 1)
            {
                body.Add((byte)',');
            }

            body.AddRange(element);
        }

        body.Add((byte)']');
        return [.. body];
    }

    private static async Task PublishBytesAsync(RabbitMQ.Client.IChannel channel, byte[] body)
    {
        var properties = new RabbitMQ.Client.BasicProperties { Persistent = true, ContentType = "application/json", MessageId = Guid.NewGuid().ToString() };
        await channel.BasicPublishAsync(IngestionTopology.Exchange, string.Empty, mandatory: true, properties, body);
    }

    private static string? Header(RabbitMQ.Client.BasicGetResult message, string name) =>
        message.BasicProperties.Headers?.TryGetValue(name, out var value) == true
            ? value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                _ => value?.ToString(),
            }
            : null;
}

/// <summary>
/// One generated event: its JSON bytes, the refusal codes its content calls for (none: it must be stored), and the text
/// each of its string fields must be stored with.
/// </summary>
public sealed record FuzzEvent(Guid EventId, Guid ConversationId, Guid TurnId, string Type, byte[] Json, IReadOnlySet<string> ExpectedCodes,
    IReadOnlyDictionary<string, string?> ExpectedTexts, IReadOnlyDictionary<string, HostileString> Hostile)
{
    /// <summary>Which fields were generated and what they held (classes, lengths), never the text itself.</summary>
    public string Describe() => string.Join("; ", Hostile.Select(h => $"{h.Key}: {h.Value.Classes}, {h.Value.Utf16Length} units, {h.Value.Breaks}"));
}

/// <summary>
/// Conversations of six events, each string field of four of them replaced, now and then, by <see cref="HostileText"/>:
/// ConversationStarted (all its identifiers), a response with hostile model names and excerpts, a rating with a hostile
/// comment of a plain response, and a comparison of two plain responses with a hostile comment. The rated and compared
/// responses are plain, so no rating or comparison lacks its response, whatever is refused.
/// </summary>
public sealed class FuzzConversations(PCG pcg)
{
    private static readonly Gen<bool> Hostile = Gen.Int[0, 99].Select(n => n < 40);
    private readonly Dictionary<string, Gen<HostileString>> _fields = new();
    private readonly Dictionary<string, int> _classes = new();
    private static readonly UserIdPseudonyms Pseudonyms = new(Analytics.Hosting.UnsafeDefaults.DevelopmentUserIdKey);

    public IReadOnlyList<FuzzEvent> Next()
    {
        var at = TestConversations.At;
        var conversationId = Guid.NewGuid();
        var model = new ModelRef("atlas", "2026-11");
        var (rated, other, odd) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var down = Gen.Bool.Generate(pcg, null, out _);
        return
        [
            Build(new ConversationStarted(Guid.NewGuid(), at, 1, conversationId, "it", "user-1", "web", "en-US", new Personalization(true, "student"),
                new ExperimentAssignment("exp-1", "control")), Guid.Empty,
                ("source", true), ("userId", true), ("surface", true), ("locale", true), ("personalization.profile", true), ("experiment.id", true),
                ("experiment.arm", true)),
            Build(Response(conversationId, rated, 0, model, at), rated),
            Build(Response(conversationId, other, 1, model, at), other),
            Build(Response(conversationId, odd, 2, new ModelRef("borealis", "2026-11", "concise"), at) with { PromptExcerpt = "a prompt", ResponseExcerpt = "a reply" },
                odd, ("source", true), ("model.id", true), ("model.version", true), ("model.variant", true), ("promptExcerpt", false), ("responseExcerpt", false)),
            Build(new ResponseRated(Guid.NewGuid(), at.AddSeconds(5), 1, conversationId, "it", rated, down ? Rating.Down : Rating.Up,
                down ? [FeedbackReason.Other] : [], model, ["chat"], "a comment"), rated, ("source", true), ("comment", false)),
            Build(new ResponsesCompared(Guid.NewGuid(), at.AddSeconds(6), 1, conversationId, "it", Guid.NewGuid(),
                [new ComparisonCandidate(rated, model), new ComparisonCandidate(other, model)], Preference.A, ["chat"], [FeedbackReason.Other], "a comment"),
                Guid.Empty, ("source", true), ("comment", false)),
        ];
    }

    /// <summary>What the generated events covered, by class of content and by expected outcome.</summary>
    public string Coverage(IReadOnlyList<FuzzEvent> events, int messages)
    {
        var outcomes = events.GroupBy(e => e.ExpectedCodes.Count == 0 ? "stored" : string.Join("|", e.ExpectedCodes.Order()))
            .OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}");
        return $"content fuzz: {events.Count} events in {messages} messages, {events.Sum(e => e.Hostile.Count)} generated fields; "
            + $"fields holding each class: {string.Join(", ", _classes.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value}"))}; "
            + $"expected outcomes: {string.Join(", ", outcomes)}";
    }

    private static ResponseGenerated Response(Guid conversationId, Guid turnId, int index, ModelRef model, DateTimeOffset at) =>
        new(Guid.NewGuid(), at.AddSeconds(1 + index), 1, conversationId, "it", turnId, index, model, ["chat"], new Modality(["text"], ["text"]),
            900, 100, 200, new Moderation(false, []));

    private FuzzEvent Build(object contract, Guid turnId, params (string Path, bool Identifier)[] fields)
    {
        var node = JsonNode.Parse(FeedbackJson.ToElement(contract).GetRawText())!.AsObject();
        var hostile = new Dictionary<string, HostileString>();
        var texts = new Dictionary<string, string?>();
        foreach (var (path, identifier) in fields)
        {
            var names = path.Split('.');
            var parent = names[..^1].Aggregate((JsonNode)node, (n, name) => n[name]!);
            if (Hostile.Generate(pcg, null, out _))
            {
                var limit = identifier ? ContractLimits.MaxShortText : ContractLimits.MaxExcerpt;
                var key = $"{limit}:{identifier}";
                if (!_fields.TryGetValue(key, out var gen))
                {
                    _fields[key] = gen = HostileText.Field(limit, identifier);
                }

                var value = gen.Generate(pcg, null, out _);
                hostile[path] = value;
                foreach (var kind in value.Classes.Split(','))
                {
                    _classes[kind] = _classes.GetValueOrDefault(kind) + 1;
                }

                parent[names[^1]] = $"@@{path}@@";
                texts[path] = identifier ? value.Text : PiiRedactor.Redact(value.Text).Text;
            }
            else
            {
                texts[path] = parent[names[^1]]!.GetValue<string>();
            }
        }

        if (texts.TryGetValue("userId", out var userId) && userId is not null)
        {
            texts["userId"] = Pseudonyms.Pseudonym(userId); // stored as its keyed pseudonym (the workers' development key)
        }

        var json = Encoding.UTF8.GetBytes(node.ToJsonString());
        foreach (var (path, value) in hostile)
        {
            json = Splice(json, Encoding.UTF8.GetBytes($"\"@@{path}@@\""), value.Json);
        }

        var eventId = (Guid)contract.GetType().GetProperty("EventId")!.GetValue(contract)!;
        var conversationId = (Guid)contract.GetType().GetProperty("ConversationId")!.GetValue(contract)!;
        return new FuzzEvent(eventId, conversationId, turnId, contract.GetType().Name, json,
            ExpectedCodes(hostile, fields.ToDictionary(f => f.Path, f => f.Identifier)), texts, hostile);
    }

    /// <summary>
    /// The refusals the content calls for, by the documented rules: not JSON → invalid_json (nothing else can be read);
    /// otherwise invalid_text and text_too_long as the fields call for them (the validator reports the first it meets).
    /// </summary>
    private static HashSet<string> ExpectedCodes(Dictionary<string, HostileString> hostile, Dictionary<string, bool> identifiers)
    {
        var codes = new HashSet<string>();
        foreach (var (path, value) in hostile)
        {
            if (value.Breaks.HasFlag(TextBreaks.Json))
            {
                return [Refusal.Codes.InvalidJson];
            }

            if (value.Breaks.HasFlag(TextBreaks.AnyField) || (identifiers[path] && value.Breaks.HasFlag(TextBreaks.Identifier)))
            {
                codes.Add(Refusal.Codes.InvalidText);
            }

            if (value.Utf16Length > (identifiers[path] ? ContractLimits.MaxShortText : ContractLimits.MaxExcerpt))
            {
                codes.Add(Refusal.Codes.TextTooLong);
            }
        }

        return codes;
    }

    private static byte[] Splice(byte[] json, byte[] marker, byte[] value)
    {
        var index = json.AsSpan().IndexOf(marker);
        return [.. json.AsSpan(0, index), .. value, .. json.AsSpan(index + marker.Length)];
    }
}
