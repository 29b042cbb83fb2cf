using System.Diagnostics;
using System.Globalization;
using Analytics.Publisher;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Spectre.Console;

namespace Analytics.Benchmarks;

/// <summary>
/// The platform end to end: the real worker as a child process with its own vhost and database, messages
/// published to the ingestion exchange, timed from the first publish until every event is in
/// <c>analytics.mt_events</c>.
/// </summary>
public sealed class Platform(BenchSettings settings, Isolation isolation, string repositoryRoot, Workload? warmup)
{
    private const string Exchange = "analytics.ingest";
    private const string Queue = "analytics-ingest";
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(90);

    /// <summary>A `top` snapshot taken halfway through each scenario, for the write-up.</summary>
    public List<(string Scenario, string Top)> TopSnapshots { get; } = [];

    public Task<ScenarioResult> RawAsync(string name, string suffix, IReadOnlyList<byte[]> bodies, long events, CancellationToken cancellationToken) =>
        RunAsync(name, suffix, events, bodies.Count, async (amqpUri, ct) =>
        {
            var connection = await RabbitTools.ConnectAsync(amqpUri, "bench-platform-publisher", ct);
            var channel = await RabbitTools.ConfirmChannelAsync(connection, ct);
            var started = Stopwatch.GetTimestamp();
            var publishing = RabbitTools.PublishAllAsync(channel, Exchange, string.Empty, bodies, ct);
            return (started, publishing, async () =>
            {
                await channel.DisposeAsync();
                await connection.DisposeAsync();
            }
            );
        }, cancellationToken);

    /// <summary>Through Analytics.Publisher's FeedbackPublisher (MassTransit send, batches by count or time).</summary>
    public Task<ScenarioResult> PublisherLibraryAsync(string name, string suffix, IReadOnlyList<object> contracts, int batchSize,
        CancellationToken cancellationToken) =>
        RunAsync(name, suffix, contracts.Count, (contracts.Count + batchSize - 1) / batchSize, async (amqpUri, ct) =>
        {
            var builder = Host.CreateApplicationBuilder([]);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddMassTransit(bus => bus.UsingRabbitMq((_, rabbit) =>
                rabbit.Host(new Uri(amqpUri), host => host.PublisherConfirmation = true)));
            builder.Services.AddFeedbackPublisher(options => options.MaxBatchSize = batchSize);
            var host = builder.Build();
            await host.StartAsync(ct);
            var publisher = host.Services.GetRequiredService<FeedbackPublisher>();
            var started = Stopwatch.GetTimestamp();
            var publishing = Task.Run(async () =>
            {
                var confirms = new Task[contracts.Count];
                for (var i = 0; i < contracts.Count; i++)
                {
                    confirms[i] = publisher.PublishAsync(contracts[i], ct);
                }

                await Task.WhenAll(confirms);
            }, ct);
            return (started, publishing, async () =>
            {
                await host.StopAsync(CancellationToken.None);
                host.Dispose();
            }
            );
        }, cancellationToken);

    private async Task<ScenarioResult> RunAsync(string name, string suffix, long events, long messages,
        Func<string, CancellationToken, Task<(long Started, Task Publishing, Func<ValueTask> Cleanup)>> publish,
        CancellationToken cancellationToken)
    {
        var vhost = await isolation.CreateVhostAsync(suffix, cancellationToken);
        var database = await isolation.CreateDatabaseAsync(suffix, cancellationToken);
        var amqpUri = settings.AmqpUri(vhost);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ConnectionStrings__Marten"] = isolation.ConnectionString(database),
            ["RabbitMq__Uri"] = amqpUri,
            ["Urls"] = "http://127.0.0.1:0",
            ["DOTNET_ENVIRONMENT"] = "Development", // the local dev passwords and keys; outside Development the hosts refuse them (docs/security.md)
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
        };
        if (settings.Topology != WorkerTopology.OneWorker)
        {
            environment = WorkerProcess.IngestRole(environment);
        }

        foreach (var (key, value) in settings.WorkerEnvironment)
        {
            environment[key] = value;
        }

        var logPath = Path.Combine(Path.GetTempPath(), $"bench-{isolation.RunId}-{suffix}-worker.log");
        await using var worker = WorkerProcess.Start(repositoryRoot, environment, logPath);
        await WaitForConsumerAsync(worker, vhost, cancellationToken);
        await using var projector = settings.Topology == WorkerTopology.Shipped
            ? WorkerProcess.Start(repositoryRoot, WorkerProcess.ProjectionRole(environment), Path.Combine(Path.GetTempPath(), $"bench-{isolation.RunId}-{suffix}-projection-worker.log"))
            : null;

        await using var dataSource = NpgsqlDataSource.Create(isolation.ConnectionString(database, 2));
        long already = 0;
        if (warmup is not null)
        {
            // Untimed: JIT, connection pools and Marten's schema check happen here, not in the figures.
            await using var connection = await RabbitTools.ConnectAsync(amqpUri, "bench-platform-warmup", cancellationToken);
            await using var channel = await RabbitTools.ConfirmChannelAsync(connection, cancellationToken);
            var warming = RabbitTools.PublishAllAsync(channel, Exchange, string.Empty, warmup.Batches, cancellationToken);
            await WaitForEventsAsync(dataSource, worker, warmup.Events, warming, $"{name} warm-up", null, cancellationToken);
            await warming;
            already = warmup.Events;
        }

        var before = CpuSnapshot.Take(worker.Pid);
        var projectorBefore = projector is null ? null : CpuSnapshot.Take(projector.Pid);
        var (started, publishing, cleanup) = await publish(amqpUri, cancellationToken);
        try
        {
            var finished = await WaitForEventsAsync(dataSource, worker, already + events, publishing, name, TopSnapshots, cancellationToken);
            await publishing;
            var cpu = CpuSnapshot.Take(worker.Pid).Since(before);
            var refused = await isolation.MessagesAsync(vhost, "analytics-ingest-refused", cancellationToken);
            // The projection worker's share of the same interval (it runs beside ingestion; its lag is the read benchmark's).
            var projection = projector is null || projectorBefore is null
                ? null
                : string.Create(CultureInfo.InvariantCulture,
                    $"projection worker: peak {projector.PeakMemoryMb():0} MB, CPU {CpuSnapshot.Take(projector.Pid).Since(projectorBefore).Worker:0}%");
            return new ScenarioResult(name, messages, events, Stopwatch.GetElapsedTime(started, finished))
            {
                PeakWorkerMb = worker.PeakMemoryMb(),
                Cpu = cpu,
                Note = string.Join("; ", new[] { refused is > 0 ? $"{refused} refused" : null, projection }.OfType<string>()) is { Length: > 0 } note ? note : null,
            };
        }
        finally
        {
            await cleanup();
        }
    }

    private async Task WaitForConsumerAsync(ChildProcess worker, string vhost, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (await isolation.ConsumersAsync(vhost, Queue, cancellationToken) < 1)
        {
            if (worker.HasExited)
            {
                throw new InvalidOperationException($"the worker exited during start-up; see {worker.LogPath}");
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"no consumer on {Queue} after 2 minutes; see {worker.LogPath}");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    private static async Task<long> WaitForEventsAsync(NpgsqlDataSource dataSource, ChildProcess worker, long expected, Task publishing,
        string name, List<(string Scenario, string Top)>? topSnapshots, CancellationToken cancellationToken)
    {
        long last = -1;
        var lastProgress = Stopwatch.StartNew();
        var topTaken = topSnapshots is null;
        while (true)
        {
            var count = await CountAsync(dataSource, expected, cancellationToken);
            var now = Stopwatch.GetTimestamp();
            if (count >= expected)
            {
                return now;
            }

            if (!topTaken && count >= expected / 2)
            {
                topTaken = true;
                topSnapshots!.Add((name, await TopAsync(cancellationToken)));
            }

            if (count != last)
            {
                last = count;
                lastProgress.Restart();
            }

            if (publishing.IsFaulted)
            {
                await publishing;
            }

            if (worker.HasExited)
            {
                throw new InvalidOperationException($"the worker exited with {count} of {expected} events stored; see {worker.LogPath}");
            }

            if (lastProgress.Elapsed > Stall)
            {
                throw new TimeoutException($"{name}: stuck at {count} of {expected} events for {Stall.TotalSeconds:0} s; see {worker.LogPath}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// Events stored so far, polled every 100 ms. Counting the rows scans the whole table, which on its own took a
    /// good part of PostgreSQL's CPU in long runs; the event sequence's last value is an upper bound of the count
    /// (every stored event drew one), so rows are counted only once that bound has reached <paramref name="expected"/>.
    /// Below it, the bound is what the progress and the stall check see.
    /// </summary>
    private static async Task<long> CountAsync(NpgsqlDataSource dataSource, long expected, CancellationToken cancellationToken)
    {
        try
        {
            await using var bound = dataSource.CreateCommand("select case when is_called then last_value else 0 end from analytics.mt_events_sequence");
            var issued = (long)(await bound.ExecuteScalarAsync(cancellationToken))!;
            if (issued < expected)
            {
                return Math.Min(issued, expected - 1);
            }

            await using var command = dataSource.CreateCommand("select count(*) from analytics.mt_events where type <> 'tombstone'");
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            return 0;
        }
    }

    private static async Task<string> TopAsync(CancellationToken cancellationToken)
    {
        try
        {
            var start = new ProcessStartInfo("top") { RedirectStandardOutput = true };
            foreach (var arg in new[] { "-b", "-n1", "-w", "160" })
            {
                start.ArgumentList.Add(arg);
            }

            using var top = Process.Start(start)!;
            var output = await top.StandardOutput.ReadToEndAsync(cancellationToken);
            await top.WaitForExitAsync(cancellationToken);
            return string.Join('\n', output.Split('\n').Take(16));
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"(top not available: {Markup.Escape(ex.Message)})";
        }
    }
}
