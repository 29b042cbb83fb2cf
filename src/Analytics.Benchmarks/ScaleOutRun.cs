using System.Diagnostics;
using System.Globalization;
using Analytics.Conversations;
using Analytics.FaultTests;
using Analytics.Ingesting;
using Npgsql;
using RabbitMQ.Client;

namespace Analytics.Benchmarks;

/// <summary>
/// `scale-out`: two workers and two API hosts against one broker and one database, fed by the fault suite's ledger
/// producer; one worker and one API host are SIGKILLed mid-run while the surviving API keeps being queried; at the
/// end the ledger is compared with the event store and the satisfaction tables with a recount
/// (infra/scripts/scale-out.sh, docs/operations.md). Runs in a fresh database and vhost of its own.
/// </summary>
public static class ScaleOutRun
{
    public static async Task<int> RunAsync(ScaleOutOptions options, string root, CancellationToken ct)
    {
        var logs = options.Logs ?? Path.Combine(root, ".local", "scale-out");

        // The administrators, at the addresses infra/scripts/services-env.sh exports (PG_PORT, RABBITMQ_PORT,
        // RABBITMQ_MANAGEMENT_PORT), as for the other benchmarks: the run creates its own database and vhost.
        var bench = new BenchSettings();
        Directory.CreateDirectory(logs);
        var run = $"scaleout_{DateTime.UtcNow:MMddHHmmss}";
        var amqpUri = new Uri(bench.AmqpUri(run));
        var connectionString = new NpgsqlConnectionStringBuilder(bench.PostgresAdmin) { Database = run, MaxPoolSize = 20 }.ConnectionString;
        using var services = new ServiceIsolation(bench.PostgresAdmin, bench.Management, bench.User, bench.Password);
        await services.CreateVhostAsync(run, new Dictionary<string, VhostPermissions> { [bench.User] = ServiceIsolation.Everything }, ct);
        await services.CreateDatabaseAsync(run, ct);

        Console.WriteLine($"scale-out run {run}: database {run}, vhost {run}, logs in {logs}");
        var workerEnvironment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Marten"] = connectionString,
            ["RabbitMq__Uri"] = amqpUri.ToString(),
            ["Logging__LogLevel__Default"] = "Warning",
            ["DOTNET_ENVIRONMENT"] = "Development", // the local passwords; outside Development the worker refuses them
        };
        var workers = new List<ChildProcess>();
        var apis = new List<ApiProcess>();
        try
        {
            var clock = Stopwatch.StartNew();
            await StartHostsAsync(root, logs, workerEnvironment, connectionString, amqpUri, workers, apis, ct);
            Console.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: 2 workers (pids {workers[0].Pid}, {workers[1].Pid}) and 2 API hosts ({apis[0].BaseAddress}, {apis[1].BaseAddress}) up");
            return await TrafficWithKillsAsync(options, connectionString, amqpUri, workers[0], apis, clock, ct);
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }

            foreach (var api in apis)
            {
                await api.DisposeAsync();
            }

            await services.DeleteVhostAsync(run);
            await services.DropDatabaseAsync(run);
        }
    }

    /// <summary>Two workers, each consuming before the next starts, then two API hosts; added to the lists as they start, so the caller stops them.</summary>
    private static async Task StartHostsAsync(string root, string logs, Dictionary<string, string> workerEnvironment, string connectionString, Uri amqpUri,
        List<ChildProcess> workers, List<ApiProcess> apis, CancellationToken ct)
    {
        for (var i = 1; i <= 2; i++)
        {
            workers.Add(WorkerProcess.Start(root, new Dictionary<string, string>(workerEnvironment) { ["Urls"] = "http://127.0.0.1:0" },
                Path.Combine(logs, $"worker-{i}.log")));
            await WaitAsync(async () => await ConsumersAsync(amqpUri) >= workers.Count, TimeSpan.FromMinutes(2), $"worker {i} consuming", ct);
        }

        for (var i = 1; i <= 2; i++)
        {
            apis.Add(await ApiProcess.StartAsync(root, connectionString, Path.Combine(logs, $"api-{i}.log"), ct));
        }
    }

    /// <summary>
    /// The ledger's traffic while both API hosts are queried; after a third of it, worker 1 and API host 1 are SIGKILLed. Then the
    /// ledger against the store and the views against a recount: 0 when nothing is lost, duplicated, unexpected or different.
    /// </summary>
    private static async Task<int> TrafficWithKillsAsync(ScaleOutOptions options, string connectionString, Uri amqpUri, ChildProcess killedWorker,
        List<ApiProcess> apis, Stopwatch clock, CancellationToken ct)
    {
        var (conversations, rate) = (options.Conversations, options.Rate);
        await using var ledger = new LedgerProducer(amqpUri);
        var queries = new QueryTally[] { new(apis[0].BaseAddress), new(apis[1].BaseAddress) };
        using var stopQueries = new CancellationTokenSource();
        var querying = Task.WhenAll(queries.Select(q => q.RunAsync(stopQueries.Token)));

        var publishing = ledger.PublishAsync(LedgerTraffic.Conversations(conversations, seed: 2026), rate, ct);
        await WaitAsync(() => Task.FromResult(ledger.Messages.Count - ledger.UnconfirmedMessages >= conversations / 3), TimeSpan.FromMinutes(5),
            "a third of the traffic confirmed", ct);
        Process.GetProcessById(killedWorker.Pid).Kill();
        Process.GetProcessById(apis[0].Pid).Kill();
        var sinceKill = Stopwatch.StartNew();
        Console.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: SIGKILL worker 1 (pid {killedWorker.Pid}) and API host 1 (pid {apis[0].Pid}) after {ledger.Messages.Count} messages");

        await publishing;
        await ledger.RepublishUntilConfirmedAsync(TimeSpan.FromMinutes(2), ct);
        var confirmed = ledger.ConfirmedEventIds;
        await WaitAsync(async () => (await StoredAsync(connectionString)).Keys.Count(confirmed.Contains) == confirmed.Count
                                    && await ProjectionCaughtUpAsync(connectionString),
            TimeSpan.FromMinutes(5), "every confirmed event stored and projected", ct);
        var recovered = sinceKill.Elapsed;
        await stopQueries.CancelAsync();
        await querying;

        var report = new BenchmarkReport(
            $"Scale-out run — {conversations} conversations offered at {rate} msg/s; 2 workers + 2 API hosts, one of each SIGKILLed after a third");
        await AuditAsync(report, ledger, connectionString);
        report.Figure("Stored and projected everything", string.Create(CultureInfo.InvariantCulture, $"{recovered.TotalSeconds:0.0} s after the kills"));
        report.Figure("Whole run", string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds:0.0} s"));
        report.Figure("API host 1 (killed)", queries[0].ToString());
        report.Figure("API host 2 (survived)", queries[1].ToString());
        report.WriteTables();
        Console.WriteLine($"result: {(report.ExitCode == 0 ? "PASS" : "FAIL")}");
        if (options.Markdown)
        {
            report.WriteMarkdown(commandLine: options.CommandLine);
        }

        return report.ExitCode;
    }

    /// <summary>The ledger against the event store (lost, duplicated, unexpected) and the views against a recount: figures, and a target and a failure each.</summary>
    private static async Task AuditAsync(BenchmarkReport report, LedgerProducer ledger, string connectionString)
    {
        BenchmarkReport.Step("The ledger against the event store, the views against a recount");
        var stored = await StoredAsync(connectionString);
        var published = ledger.PublishedEventIds;
        var confirmed = ledger.ConfirmedEventIds;
        report.Figure("Published", string.Create(CultureInfo.InvariantCulture,
            $"{published.Count} events in {ledger.Messages.Count} messages ({ledger.Attempts} publish attempts, {ledger.Failed} failed, {ledger.Unknown} unknown)"));
        report.Figure("Confirmed", Count(confirmed.Count));
        report.Figure("Stored", Count(published.Count(stored.ContainsKey)));
        Audit(report, "Lost (confirmed, not stored)", confirmed.Count(id => !stored.ContainsKey(id)));
        Audit(report, "Duplicated (stored more than once)", stored.Count(s => s.Value > 1));
        Audit(report, "Unexpected (stored, never published)", stored.Keys.Count(id => !published.Contains(id)));
        Audit(report, "View rows differing from the recount", await ViewRecount.DifferencesAsync(connectionString));
    }

    /// <summary>A count that must be 0: a figure, a target, and a failure (exit code 1) when it is not.</summary>
    private static void Audit(BenchmarkReport report, string figure, long count)
    {
        report.Figure(figure, Count(count));
        report.Target($"{figure}: 0", Count(count), count == 0);
        if (count != 0)
        {
            report.Fail($"{figure}: {Count(count)}");
        }
    }

    private static string Count(long count) => count.ToString(CultureInfo.InvariantCulture);

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0} s waiting for: {what}");
            }

            await Task.Delay(200, ct);
        }
    }

    private static async Task<uint> ConsumersAsync(Uri amqpUri)
    {
        try
        {
            await using var connection = await new ConnectionFactory { Uri = amqpUri }.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            return (await channel.QueueDeclarePassiveAsync(IngestionTopology.Queue)).ConsumerCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    /// <summary>The feedback events (the same store also holds triage cluster and alert streams).</summary>
    private const string FeedbackTypes =
        "'conversation_started_recorded', 'response_generated_recorded', 'response_rated_recorded', 'responses_compared_recorded'";

    private static async Task<Dictionary<Guid, long>> StoredAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"select id, count(*) from {EventStoreRegistration.SchemaName}.mt_events where type in ({FeedbackTypes}) group by id", connection);
        var stored = new Dictionary<Guid, long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            stored[reader.GetGuid(0)] = reader.GetInt64(1);
        }

        return stored;
    }

    private static async Task<bool> ProjectionCaughtUpAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"""
            select coalesce((select max(last_seq_id) from {EventStoreRegistration.SchemaName}.mt_event_progression where name like '%SatisfactionProjection:%'), -1)
                >= coalesce((select max(seq_id) from {EventStoreRegistration.SchemaName}.mt_events), 0)
            """, connection);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Queries the satisfaction matrix on one API host every 100 ms and counts answers and failures.</summary>
    private sealed class QueryTally(Uri baseAddress)
    {
        private readonly List<double> _millis = [];
        private int _ok;
        private int _failed;

        public async Task RunAsync(CancellationToken stop)
        {
            using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
            http.DefaultRequestHeaders.Add("X-Api-Key", "local-dev-viewer-key");
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.StartNew();
                try
                {
                    using var response = await http.GetAsync("api/satisfaction/matrix?from=2026-11-24T00:00:00Z&to=2026-11-28T00:00:00Z", stop);
                    if (response.IsSuccessStatusCode)
                    {
                        _ok++;
                        _millis.Add(started.Elapsed.TotalMilliseconds);
                    }
                    else
                    {
                        _failed++;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    if (stop.IsCancellationRequested)
                    {
                        break;
                    }

                    _failed++;
                }

                try
                {
                    await Task.Delay(100, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        public override string ToString()
        {
            var sorted = _millis.Order().ToList();
            var p50 = sorted.Count > 0 ? sorted[sorted.Count / 2] : 0;
            var p99 = sorted.Count > 0 ? sorted[Math.Min(sorted.Count - 1, sorted.Count * 99 / 100)] : 0;
            return string.Create(CultureInfo.InvariantCulture, $"{_ok} matrix queries answered (p50 {p50:0} ms, p99 {p99:0} ms), {_failed} failed");
        }
    }
}
