using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Ingesting;
using Analytics.IntegrationTests;
using Analytics.Satisfaction;
using Marten;
using Npgsql;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace Analytics.FaultTests;

/// <summary>
/// The ledger-based fault suite (docs/reliability.md): real worker processes on the suite's own PostgreSQL and
/// RabbitMQ; a producer that records what was confirmed; a fault mid-stream; then the ledger is compared with the
/// event store and the satisfaction tables with a recount. Pass = 0 lost, 0 duplicated, 0 unexpected, views equal
/// to the recount. Each scenario prints its figures (also appended to .local/faults/figures.txt).
/// </summary>
[Collection(FaultCollection.Name)]
public sealed partial class FaultScenarioTests(DedicatedServices services, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(120);
    private TestPlatform _platform = null!;
    private LedgerProducer _ledger = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _ledger = new LedgerProducer(_platform.AmqpUri);
    }

    public async Task DisposeAsync()
    {
        await _ledger.DisposeAsync();
        await _platform.DisposeAsync();
    }

    [Fact]
    public Task Broker_restarted_mid_stream_loses_and_duplicates_nothing() =>
        RestartMidStreamAsync("rabbitmq", "broker restarted mid-stream", seed: 1, messagesPerSecond: 50);

    [Fact]
    public Task PostgreSQL_restarted_mid_stream_loses_and_duplicates_nothing() =>
        RestartMidStreamAsync("postgres", "PostgreSQL restarted mid-stream", seed: 2, messagesPerSecond: 100);

    /// <summary>
    /// Traffic flows before, during and after a restart of <paramref name="service"/>: it stops once 100 more messages
    /// were confirmed after it; then what was not confirmed is republished, and the ledger is audited.
    /// </summary>
    private async Task RestartMidStreamAsync(string service, string scenario, int seed, int messagesPerSecond)
    {
        var worker = await _platform.StartWorkerAsync();
        using var stop = new CancellationTokenSource();
        var publishing = _ledger.PublishAsync(LedgerTraffic.Conversations(5000, seed), messagesPerSecond, stop.Token);
        await WaitForConfirmedAsync(200);

        var sinceFault = Stopwatch.StartNew();
        var (failedBefore, unknownBefore, logBefore) = (_ledger.Failed, _ledger.Unknown, worker.Output.Length);
        var restart = await services.RestartAsync(service);
        Report(restart);
        Assert.Contains($"{service} restarted in", restart);
        if (service == "postgres")
        {
            NpgsqlConnection.ClearAllPools(); // the test's pooled connections died with the server
        }

        await WaitForConfirmedAsync(_ledger.Messages.Count + 100);
        await stop.CancelAsync();
        await publishing;
        await _ledger.RepublishUntilConfirmedAsync(TimeSpan.FromSeconds(60));
        await LedgerAudit.DrainAsync(_platform, _ledger, DrainTimeout);

        // The fault was felt where it strikes. A broker restart closes the producer's connection: publishes fail or
        // end unknown (and are republished). A database restart does not touch the publishes (the broker stays up):
        // the worker's appends and the daemon's reads lose their connections, which the worker logs.
        if (service == "rabbitmq")
        {
            Assert.True(_ledger.Failed + _ledger.Unknown > failedBefore + unknownBefore,
                $"no publish failed or ended unknown during the broker restart ({_ledger.Failed} failed, {_ledger.Unknown} unknown)");
        }
        else
        {
            var logSinceRestart = worker.Output[logBefore..];
            var felt = ConnectionTrouble().Matches(logSinceRestart).Select(m => m.Value).Distinct().ToList();
            Report($"worker log since the restart: {string.Join(", ", felt)}");
            Assert.True(felt.Count > 0, $"the worker's log shows no connection error or retry since the PostgreSQL restart:\n{logSinceRestart}");
        }

        await AssertPassedAsync(await LedgerAudit.AuditAsync(scenario, _platform, _ledger, sinceFault));
    }

    /// <summary>What the worker logs when its database connections break: Npgsql's exceptions, PostgreSQL's shutdown codes, a failed group commit.</summary>
    [GeneratedRegex(@"Npgsql\w*Exception|PostgresException|57P0[1-3]|appending them one by one|R-RETRY")]
    private static partial Regex ConnectionTrouble();

    [Theory]
    [InlineData("KillBeforeCommitOnAppend", "before commit")]
    [InlineData("KillAfterCommitOnAppend", "after commit, before ack")]
    public async Task Worker_killed_inside_the_commit_window_loses_and_duplicates_nothing(string hook, string window)
    {
        // The fault hook SIGKILLs the worker at its 5th append: inside the transaction before its commit, or after
        // the commit before the messages are acknowledged. Quick appends only, so that "before commit" is a
        // transaction the hook can stop (the bulk path commits inside Marten). Small batches (≤ 5 messages), so the
        // 250 messages make at least 50 appends however fast the worker drains them: the 5th always comes.
        var doomed = await _platform.StartWorkerAsync(new Dictionary<string, string>
        {
            [$"Faults__{hook}"] = "5",
            ["Ingestion__BulkAppendMinEvents"] = "0",
            ["Ingestion__MessageLimit"] = "5",
        });
        var messages = LedgerTraffic.Conversations(250, seed: 3);
        var publishing = _ledger.PublishAsync(messages, messagesPerSecond: 200);
        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(!doomed.IsRunning), TimeSpan.FromSeconds(60),
            () => Task.FromResult($"the fault hook did not kill the worker:\n{doomed.Output}"));
        var sinceFault = Stopwatch.StartNew();
        Assert.Contains($"FAULT-INJECTION: killing the worker {window}", doomed.Output);

        var survivor = await _platform.StartWorkerAsync();
        await publishing;
        await _ledger.RepublishUntilConfirmedAsync(TimeSpan.FromSeconds(60));
        await LedgerAudit.DrainAsync(_platform, _ledger, DrainTimeout);

        var duplicates = await survivor.MetricAsync("analytics_ingest_events_duplicate_total");
        output.WriteLine($"redelivered events the survivor found already stored: {duplicates}");
        if (hook == "KillAfterCommitOnAppend")
        {
            // The window was hit: the committed batch was redelivered and recognised by its eventIds.
            Assert.True(duplicates > 0, "no redelivered event was already stored: the kill did not fall between commit and ack");
        }

        await AssertPassedAsync(await LedgerAudit.AuditAsync($"worker SIGKILL {window}", _platform, _ledger, sinceFault));
    }

    [Fact]
    public async Task The_same_event_published_two_to_five_times_to_two_workers_is_stored_once()
    {
        var first = await _platform.StartWorkerAsync();
        var second = await _platform.StartWorkerAsync();
        var random = new Random(4);
        var copies = LedgerTraffic.Conversations(200, seed: 4)
            .SelectMany(m => Enumerable.Repeat(m, random.Next(2, 6)))
            .OrderBy(_ => random.Next())
            .ToList();
        var sinceStart = Stopwatch.StartNew();
        await _ledger.PublishAsync(copies, messagesPerSecond: 400);
        await _ledger.RepublishUntilConfirmedAsync(TimeSpan.FromSeconds(60));
        await LedgerAudit.DrainAsync(_platform, _ledger, DrainTimeout);

        var stored = await first.MetricAsync("analytics_ingest_events_stored_total") + await second.MetricAsync("analytics_ingest_events_stored_total");
        var duplicates = await first.MetricAsync("analytics_ingest_events_duplicate_total") + await second.MetricAsync("analytics_ingest_events_duplicate_total");
        output.WriteLine($"{copies.Count} messages for {copies.Distinct().Count()} distinct ones; workers stored {stored} events, skipped {duplicates} duplicates");
        foreach (var (name, worker) in new[] { ("first", first), ("second", second) })
        {
            // Group commits that failed and were appended one by one: the events a failed batch had already committed
            // count as stored at their commit and as duplicates at the redelivery.
            var groupFailures = worker.Output.Split('\n').Where(line => line.Contains("appending them one by one", StringComparison.Ordinal)).ToList();
            output.WriteLine($"{name} worker: stored {await worker.MetricAsync("analytics_ingest_events_stored_total")}, " +
                             $"duplicates {await worker.MetricAsync("analytics_ingest_events_duplicate_total")}, failed group commits {groupFailures.Count}");
            groupFailures.ForEach(output.WriteLine);
        }

        Assert.Equal(_ledger.PublishedEventIds.Count, (int)stored);
        Assert.True(duplicates >= copies.Sum(m => m.EventIds.Length) - _ledger.PublishedEventIds.Count,
            $"{duplicates} duplicates counted for {copies.Sum(m => m.EventIds.Length) - _ledger.PublishedEventIds.Count} repeated events");
        await AssertPassedAsync(await LedgerAudit.AuditAsync("same eventId 2-5 times, two workers", _platform, _ledger, sinceStart));
    }

    [Fact]
    public async Task A_poison_message_is_retried_then_parked_with_its_exception_and_replayed_once_after_the_fix()
    {
        var poisonId = LedgerTraffic.SeededId(new Random(50));
        var poisoned = await _platform.StartWorkerAsync(new Dictionary<string, string> { ["Faults__ThrowOnEventId"] = poisonId.ToString() });
        var before = LedgerTraffic.Conversations(150, seed: 5);
        var after = LedgerTraffic.Conversations(150, seed: 6);
        var sinceFault = Stopwatch.StartNew();
        await _ledger.PublishAsync([.. before, LedgerTraffic.SingleRating(poisonId), .. after], messagesPerSecond: 150);
        await _ledger.RepublishUntilConfirmedAsync(TimeSpan.FromSeconds(60));

        // Everything confirmed ends up stored or parked in the error queue (the poison message, retried and then
        // parked); the traffic behind it keeps flowing meanwhile.
        var parked = new List<BasicGetResult>();
        var parkedIds = new HashSet<Guid>();
        await TestEnvironment.WaitUntilAsync(async () =>
            {
                try
                {
                    foreach (var message in await _platform.DrainQueueAsync(IngestionTopology.ErrorQueue))
                    {
                        parked.Add(message);
                        parkedIds.UnionWith(EventIdsOf(message.Body.Span));
                    }
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                    // the error queue does not exist before the first parked message
                }

                var stored = await _platform.StoredEventsAsync();
                return parkedIds.Contains(poisonId) && _ledger.ConfirmedEventIds.All(id => stored.ContainsKey(id) || parkedIds.Contains(id));
            },
            DrainTimeout,
            async () => $"parked {parked.Count} messages ({parkedIds.Count} events, poison among them: {parkedIds.Contains(poisonId)}); stored {(await _platform.StoredEventsAsync()).Count}");
        var stored = await _platform.StoredEventsAsync();
        Assert.DoesNotContain(poisonId, stored.Keys);
        Assert.True(after.SelectMany(m => m.EventIds).Count(stored.ContainsKey) > 0, "no traffic behind the poison was stored");

        // Parked alone: the messages appended in one group with it were appended one by one when the group failed,
        // so only the poison message faulted, and every confirmed event outside it is stored already, before any replay.
        var poisonMessage = Assert.Single(parked);
        Assert.Contains(poisonId, EventIdsOf(poisonMessage.Body.Span));
        var poisonMessageEvents = EventIdsOf(poisonMessage.Body.Span).ToHashSet();
        Assert.All(_ledger.ConfirmedEventIds.Where(id => !poisonMessageEvents.Contains(id)), id => Assert.True(stored.ContainsKey(id), $"{id} was held back"));
        var headers = poisonMessage.BasicProperties.Headers!;
        var exceptionType = Header(headers, "MT-Fault-ExceptionType");
        var exceptionMessage = Header(headers, "MT-Fault-Message");
        output.WriteLine($"parked {parked.Count} messages ({parkedIds.Count} events) with {exceptionType}: {exceptionMessage}; retry count header: {Header(headers, "MT-Fault-RetryCount")}");
        Assert.Contains(nameof(PoisonEventException), exceptionType);
        // Retried before it was parked: 4 retries, after 0.2, 1, 3 and 5 s (docs/contracts.md, section 6).
        Assert.Equal("4", Header(headers, "MT-Fault-RetryCount"));
        Assert.Contains(poisonId.ToString(), exceptionMessage);

        // The fix (a worker without the fault), then the replay: the parked messages go back to the ingest queue.
        poisoned.Kill();
        await _platform.StartWorkerAsync();
        await using (var channel = await _platform.OpenAdminChannelAsync())
        {
            foreach (var message in parked)
            {
                await channel.BasicPublishAsync(string.Empty, IngestionTopology.Queue, mandatory: true,
                    new BasicProperties { Persistent = true, ContentType = message.BasicProperties.ContentType ?? "application/json" }, message.Body);
            }
        }

        await LedgerAudit.DrainAsync(_platform, _ledger, DrainTimeout);
        Assert.Equal(1, (await _platform.StoredEventsAsync())[poisonId].Count);
        Assert.Equal(0u, await _platform.ReadyMessageCountAsync(IngestionTopology.ErrorQueue)); // it exists: it held the poison
        await AssertPassedAsync(await LedgerAudit.AuditAsync("poison message parked, replayed after the fix", _platform, _ledger, sinceFault),
            allowErrorQueue: true);
    }

    [Fact]
    public async Task Schema_invalid_payloads_mixed_into_valid_traffic_are_refused_and_counted_while_the_rest_is_stored()
    {
        await _platform.StartWorkerAsync();
        var valid = LedgerTraffic.Conversations(300, seed: 7);
        var invalid = LedgerTraffic.SchemaInvalid(60, seed: 8);
        var shuffle = new Random(13); // seeded: a failure replays with the same order
        var mixed = valid.Concat(invalid).OrderBy(_ => shuffle.Next()).ToList();
        var sinceStart = Stopwatch.StartNew();
        await _ledger.PublishAsync(mixed, messagesPerSecond: 300);
        await _ledger.RepublishUntilConfirmedAsync(TimeSpan.FromSeconds(60));
        var refusedIds = invalid.SelectMany(m => m.EventIds).ToHashSet();
        await LedgerAudit.DrainAsync(_platform, _ledger, DrainTimeout, notExpected: refusedIds);
        await TestEnvironment.WaitUntilAsync(async () => await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue) >= invalid.Count,
            DrainTimeout, async () => $"{await _platform.ReadySoFarAsync(IngestionTopology.RefusedQueue)} of {invalid.Count} refused");

        var refused = await _platform.DrainQueueAsync(IngestionTopology.RefusedQueue);
        var codes = refused.GroupBy(m => Header(m.BasicProperties.Headers!, IngestionTopology.RefusalCodeHeader)).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"refused {refused.Count} of {invalid.Count} invalid events: {string.Join(", ", codes.Select(c => $"{c.Key} {c.Value}"))}");
        Assert.Equal(invalid.Count, refused.Count);
        // Per reason, worked out from LedgerTraffic.SchemaInvalid's four kinds in turn (15 each of 60).
        Assert.Equal(new Dictionary<string, int>
        {
            [Refusal.Codes.MissingField] = 15,
            [Refusal.Codes.InvalidField] = 30, // a string for latencyMs; occurredAt a month ahead
            [Refusal.Codes.UnknownType] = 15,
        }, codes);
        await AssertPassedAsync(await LedgerAudit.AuditAsync("schema-invalid payloads mixed in", _platform, _ledger, sinceStart, refusedOnPurpose: refusedIds));
    }

    [Fact]
    public async Task A_projection_failure_on_one_event_is_dead_lettered_visibly_and_a_rebuild_after_the_fix_is_correct()
    {
        var worker = await _platform.StartWorkerAsync();
        await _ledger.PublishAsync(LedgerTraffic.Conversations(150, seed: 9), messagesPerSecond: 300);
        await LedgerAudit.DrainAsync(_platform, _ledger, DrainTimeout);

        // A recorded event whose data breaks the fold (a response without capabilities), written straight into the store.
        await using var dataSource = NpgsqlDataSource.Create(_platform.ConnectionString);
        using var store = DocumentStore.For(options => EventStoreRegistration.ConfigureEventStore(options, dataSource));
        var stream = (await _platform.StoredEventsAsync()).First().Value.StreamId;
        var ids = new Random(51);
        var badId = LedgerTraffic.SeededId(ids);
        await using (var session = store.LightweightSession())
        {
            var bad = new ResponseGeneratedRecorded(badId, LedgerTraffic.Start.AddHours(5), DateTimeOffset.UtcNow, "faults", LedgerTraffic.SeededId(ids), 7,
                new ModelRef("atlas", "2026-11"), null!, new Modality(["text"], ["text"]), null, 800, 10, 20, new Moderation(false, []), null, null);
            var martenEvent = store.Events.BuildEvent(bad);
            martenEvent.Id = badId;
            session.Events.Append(stream, martenEvent);
            await session.SaveChangesAsync();
        }

        var sinceFault = Stopwatch.StartNew();
        await _ledger.PublishAsync(LedgerTraffic.Conversations(150, seed: 10), messagesPerSecond: 300);
        await LedgerAudit.DrainAsync(_platform, _ledger, DrainTimeout);

        // Visible: a dead-letter row, the gauge, an error log line; and every other event of the page still counted.
        await TestEnvironment.WaitUntilAsync(
            async () => await worker.MetricAsync("analytics_projection_dead_letters", "SatisfactionProjection") >= 1,
            TimeSpan.FromSeconds(30), () => Task.FromResult($"no dead-letter gauge. Output:\n{worker.Output}"));
        var deadLetters = await _platform.ScalarAsync<long>(
            $"select count(*) from {EventStoreRegistration.SchemaName}.mt_doc_deadletterevent where data ->> 'projectionName' like '%SatisfactionProjection%'");
        Assert.Equal(1, deadLetters);
        Assert.Contains("skipped by the daemon", worker.Output);
        var skippedDifferences = await ViewRecount.DifferencesAsync(_platform.ConnectionString, new HashSet<Guid> { badId });
        output.WriteLine($"dead letters: {deadLetters}; view rows differing from the recount without the bad event: {skippedDifferences}");
        Assert.Equal(0, skippedDifferences);

        // The fix: the row corrected, the dead letter cleared, the projection rebuilt (worker stopped).
        worker.Kill();
        await _platform.ScalarAsync<int>(
            $"update {EventStoreRegistration.SchemaName}.mt_events set data = jsonb_set(data, '{{capabilities}}', '[\"chat\"]') where id = '{badId}' returning 1");
        await _platform.ScalarAsync<int>($"with d as (delete from {EventStoreRegistration.SchemaName}.mt_doc_deadletterevent returning 1) select count(*)::int from d");
        using (var daemon = await store.BuildProjectionDaemonAsync())
        {
            await daemon.RebuildProjectionAsync<SatisfactionProjection>(CancellationToken.None);
        }

        store.ReleaseProjectionWakeup();

        var result = await LedgerAudit.AuditAsync("projection throws on one event; rebuilt after the fix", _platform, _ledger, sinceFault);
        Assert.Equal(1, await _platform.ScalarAsync<long>($"select count(*) from {SatisfactionProjection.Responses} where turn_index = 7"));
        await AssertPassedAsync(result with { Unexpected = result.Unexpected - 1 }); // the injected event is the one expected stranger
    }

    [Fact]
    public async Task Two_workers_one_killed_the_other_takes_over_ingestion_and_the_daemon_without_double_counting()
    {
        var leader = await _platform.StartWorkerAsync();
        await _ledger.PublishAsync(LedgerTraffic.Conversations(50, seed: 11), messagesPerSecond: 300);
        await LedgerAudit.DrainAsync(_platform, _ledger, DrainTimeout); // the first worker runs the daemon (hot)
        var standby = await _platform.StartWorkerAsync();

        var publishing = _ledger.PublishAsync(LedgerTraffic.Conversations(300, seed: 12), messagesPerSecond: 150);
        await WaitForConfirmedAsync(50 + 150);
        leader.Kill();
        var sinceFault = Stopwatch.StartNew();
        var highWaterAtKill = await _platform.ScalarAsync<long>($"select coalesce(max(seq_id), 0) from {EventStoreRegistration.SchemaName}.mt_events");
        await publishing;
        await _ledger.RepublishUntilConfirmedAsync(TimeSpan.FromSeconds(60));
        await LedgerAudit.DrainAsync(_platform, _ledger, DrainTimeout);

        Assert.True(standby.IsRunning);
        var projected = await _platform.ScalarAsync<long>(
            $"select max(last_seq_id) from {EventStoreRegistration.SchemaName}.mt_event_progression where name like '%SatisfactionProjection:%'");
        output.WriteLine($"high water at the kill {highWaterAtKill}; projected by the survivor up to {projected}");
        Assert.True(projected > highWaterAtKill, "the surviving worker did not take over the projection daemon");
        await AssertPassedAsync(await LedgerAudit.AuditAsync("two workers, one SIGKILLed (HotCold takeover)", _platform, _ledger, sinceFault));
    }

    private async Task WaitForConfirmedAsync(int messages) =>
        await TestEnvironment.WaitUntilAsync(() => Task.FromResult(_ledger.Messages.Count - _ledger.UnconfirmedMessages >= messages),
            TimeSpan.FromSeconds(60), () => Task.FromResult($"{_ledger.Messages.Count - _ledger.UnconfirmedMessages} messages confirmed"));

    private async Task AssertPassedAsync(LedgerResult result, bool allowErrorQueue = false)
    {
        Report(result.ToString());
        ViewRecount.LastDifferences.ForEach(Report);
        File.AppendAllText(Path.Combine(services.StateDirectory, "figures.txt"), $"{DateTime.UtcNow:O} {result}\n");
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.Duplicated);
        Assert.Equal(0, result.Unexpected);
        Assert.Equal(0, result.ViewDifferences);
        Assert.Equal(result.Published, result.Confirmed);
        if (!allowErrorQueue)
        {
            // Nothing parked: the error queue was never created (MassTransit declares it with its first message) or is empty.
            Assert.True(!await _platform.QueueExistsAsync(IngestionTopology.ErrorQueue) || await _platform.ReadyMessageCountAsync(IngestionTopology.ErrorQueue) == 0,
                "messages were parked in the error queue");
        }
    }

    private void Report(string line)
    {
        output.WriteLine(line);
        Console.WriteLine($"[fault suite] {line.Trim()}");
    }

    private static IEnumerable<Guid> EventIdsOf(ReadOnlySpan<byte> body)
    {
        var batch = JsonSerializer.Deserialize<FeedbackEventBatch>(body)!;
        return batch.Events.Select(e => e.TryGetProperty("eventId", out var id) && id.TryGetGuid(out var guid) ? guid : Guid.Empty).ToList();
    }

    private static string Header(IDictionary<string, object?> headers, string name) =>
        headers.TryGetValue(name, out var value) ? value switch
        {
            byte[] bytes => Encoding.UTF8.GetString(bytes),
            null => string.Empty,
            _ => value.ToString() ?? string.Empty,
        } : string.Empty;
}
