using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using Analytics.Contracts;
using Analytics.Publisher;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Spectre.Console;

namespace Analytics.Simulator;

/// <summary>What the command line asked for.</summary>
public sealed record SimulatorSettings(
    Uri RabbitMq,
    int Seed,
    long Events,
    double Rate,
    double DurationSeconds,
    int BatchSize,
    RegressionInjection? Regression,
    bool DryRun,
    DateTimeOffset? Start,
    double? ConversationsPerMinute);

/// <summary>Drives a <see cref="TrafficModel"/> into the broker (or stdout), paced, with progress and a summary.</summary>
public static class SimulatorRun
{
    private const int GroupSize = 4000;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Ingestion refuses events more than a day in the future; an unpaced, unbounded run outpaces the wall clock,
    /// so it starts a week back (millions of events before it reaches now).
    /// </summary>
    private static readonly TimeSpan UnboundedLookBack = TimeSpan.FromDays(7);

    public static async Task<int> ExecuteAsync(SimulatorSettings settings, CancellationToken cancellationToken)
    {
        var model = new TrafficModel(ToTrafficOptions(settings, DateTimeOffset.UtcNow));
        return settings.DryRun
            ? await DryRunAsync(settings, model, cancellationToken)
            : await PublishAsync(settings, model, cancellationToken);
    }

    /// <summary>
    /// Traffic options for a run. A dry run starts at the fixed <see cref="TrafficOptions.DefaultStart"/> so its
    /// output is reproducible; a live run is placed on the wall clock: paced runs start now with virtual time
    /// running at wall-clock speed, unpaced runs of a known size end about now, unpaced unbounded runs start a week ago.
    /// </summary>
    public static TrafficOptions ToTrafficOptions(SimulatorSettings settings, DateTimeOffset now)
    {
        var perMinute = settings.ConversationsPerMinute
            ?? (settings.Rate > 0 && !settings.DryRun
                ? settings.Rate * 60 / TrafficOptions.ApproximateEventsPerConversation
                : new TrafficOptions().ConversationsPerMinute);
        var virtualEventsPerSecond = perMinute / 60 * TrafficOptions.ApproximateEventsPerConversation;
        // While conversations ramp up the stream holds fewer events per virtual second than in steady state, so
        // virtual time runs ahead by about WarmUp: starting that much earlier keeps event times near the wall clock.
        var start = settings.Start
            ?? (settings.DryRun ? TrafficOptions.DefaultStart
                : settings.Rate > 0 ? now - WarmUp
                : settings.Events > 0 ? now.AddSeconds(-settings.Events / virtualEventsPerSecond) - WarmUp
                : now - UnboundedLookBack); // unpaced and unbounded: begin in the past so times stay valid for long
        return new TrafficOptions
        {
            Seed = settings.Seed,
            Start = new DateTimeOffset(start.UtcTicks - (start.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero),
            ConversationsPerMinute = perMinute,
            InjectRegression = settings.Regression,
        };
    }

    private static async Task<int> DryRunAsync(SimulatorSettings settings, TrafficModel model, CancellationToken cancellationToken)
    {
        var ui = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var stats = new TrafficStatistics();
        var stopwatch = Stopwatch.StartNew();
        long printed = 0;
        try
        {
            // A FileStream on fd 1 rather than Console.OpenStandardOutput(): the console stream ignores a closed
            // pipe (EPIPE), which would make an unlimited dry run piped into `head` run forever.
            await using var stdout = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, 64 * 1024);
            await using var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            await foreach (var contractEvent in PacedAsync(settings, model, stopwatch, cancellationToken))
            {
                stats.Count(contractEvent);
                FeedbackJson.ToElement(contractEvent).WriteTo(writer);
                writer.Flush();
                writer.Reset();
                stdout.WriteByte((byte)'\n');
                printed++;
            }

            await stdout.FlushAsync(CancellationToken.None);
        }
        catch (IOException)
        {
            // stdout was closed (e.g. piped into head): stop quietly
            return 0;
        }

        ui.Write(stats.ToTable(stopwatch.Elapsed, printed, 0, dryRun: true));
        return 0;
    }

    private static async Task<int> PublishAsync(SimulatorSettings settings, TrafficModel model, CancellationToken cancellationToken)
    {
        var ui = AnsiConsole.Console;
        ui.MarkupLine($"Publishing to [bold]{Markup.Escape(Redact(settings.RabbitMq))}[/] " +
            $"(seed {settings.Seed}, virtual start {model.Options.Start:u}, batch size {settings.BatchSize})");
        if (settings.Regression is { } r)
        {
            ui.MarkupLine(Markup.Escape($"Injecting a regression: {r.ModelId}{(r.ModelVersion is null ? "" : "@" + r.ModelVersion)} × {r.Capability} " +
                $"drops by {r.Drop:0.###} after {r.AfterEvents ?? 0} events"));
        }

        using var host = BuildHost(settings);
        using (var startTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            startTimeout.CancelAfter(ConnectTimeout + TimeSpan.FromSeconds(5));
            try
            {
                await host.StartAsync(startTimeout.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or RabbitMqConnectionException or MassTransitException)
            {
                ui.MarkupLine($"[red]Could not connect to RabbitMQ at {Markup.Escape(Redact(settings.RabbitMq))}:[/] {Markup.Escape(ex.Message)}");
                await StopQuietlyAsync(host);
                return 1;
            }
        }

        var publisher = host.Services.GetRequiredService<FeedbackPublisher>();
        var stats = new TrafficStatistics();
        var stopwatch = Stopwatch.StartNew();
        var progress = new Progress();
        var groups = new Queue<List<Task>>();
        var group = new List<Task>(GroupSize);

        async Task Produce()
        {
            try
            {
                await foreach (var contractEvent in PacedAsync(settings, model, stopwatch, cancellationToken))
                {
                    stats.Count(contractEvent);
                    Task sending;
                    using (SimulatorTracing.StartChatRequest(contractEvent))
                    {
                        sending = publisher.PublishAsync(contractEvent, CancellationToken.None);
                    }

                    _ = sending.ContinueWith(t => progress.Completed(t.IsCompletedSuccessfully), CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    group.Add(sending);
                    Interlocked.Increment(ref progress.Sent);
                    if (group.Count == GroupSize)
                    {
                        groups.Enqueue(group);
                        group = new List<Task>(GroupSize);
                        if (groups.Count > 2)
                        {
                            await AwaitGroupAsync(groups.Dequeue());
                        }
                    }
                }
            }
            finally
            {
                progress.Stopping = true;
                groups.Enqueue(group);
                while (groups.Count > 0)
                {
                    await AwaitGroupAsync(groups.Dequeue());
                }
            }
        }

        string Line() =>
            $"sent {progress.Sent:N0}, confirmed {progress.Confirmed:N0}" + (progress.Failed > 0 ? $", failed {progress.Failed:N0}" : "") +
            $", {progress.Sent / Math.Max(stopwatch.Elapsed.TotalSeconds, 0.001):N0} events/s" + (progress.Stopping ? ", flushing" : "");

        var producing = Produce();
        if (ui.Profile.Capabilities.Interactive)
        {
            await ui.Status().StartAsync("starting", async context =>
            {
                while (await Task.WhenAny(producing, Task.Delay(250, CancellationToken.None)) != producing)
                {
                    context.Status(Markup.Escape(Line()));
                }
            });
        }
        else
        {
            while (await Task.WhenAny(producing, Task.Delay(1000, CancellationToken.None)) != producing)
            {
                ui.WriteLine(Line());
            }
        }

        await producing;
        stopwatch.Stop();
        await StopQuietlyAsync(host);

        if (cancellationToken.IsCancellationRequested)
        {
            ui.MarkupLine("[yellow]Stopped by request; everything sent was flushed.[/]");
        }

        ui.Write(stats.ToTable(stopwatch.Elapsed, progress.Confirmed, progress.Failed, dryRun: false));
        return progress.Failed == 0 ? 0 : 1;
    }

    private static async Task AwaitGroupAsync(List<Task> group)
    {
        try
        {
            await Task.WhenAll(group);
        }
        catch (Exception)
        {
            // counted by the continuation on each task; the summary reports failures
        }
    }

    /// <summary>The model's events, stopped by --events, --duration or cancellation, paced to --rate.</summary>
    private static async IAsyncEnumerable<object> PacedAsync(SimulatorSettings settings, TrafficModel model, Stopwatch stopwatch,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long count = 0;
        var duration = settings.DurationSeconds > 0 ? TimeSpan.FromSeconds(settings.DurationSeconds) : TimeSpan.MaxValue;
        foreach (var contractEvent in model.Generate())
        {
            if (cancellationToken.IsCancellationRequested || (settings.Events > 0 && count >= settings.Events) || stopwatch.Elapsed >= duration)
            {
                yield break;
            }

            if (settings.Rate > 0)
            {
                var ahead = TimeSpan.FromSeconds(count / settings.Rate) - stopwatch.Elapsed;
                if (ahead > TimeSpan.FromMilliseconds(2))
                {
                    try
                    {
                        await Task.Delay(ahead, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        yield break;
                    }
                }
            }

            count++;
            yield return contractEvent;
        }
    }

    private static IHost BuildHost(SimulatorSettings settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None); // a failed start is reported once, plainly, by the caller
        builder.Services.AddSingleton<IHostLifetime, CallerControlledLifetime>();
        builder.AddSimulatorTracing();
        builder.Services.AddMassTransit(bus => bus.UsingRabbitMq((_, rabbit) =>
        {
            rabbit.Host(settings.RabbitMq, host =>
            {
                host.PublisherConfirmation = true;
                host.Heartbeat(TimeSpan.FromSeconds(10));
            });
            // The wire format any producer uses: the JSON event (array) as the body, no MassTransit envelope.
            rabbit.UseRawJsonSerializer(RawSerializerOptions.All, isDefault: true);
        }));
        builder.Services.Configure<MassTransitHostOptions>(host =>
        {
            host.WaitUntilStarted = true;
            host.StartTimeout = ConnectTimeout;
            host.StopTimeout = TimeSpan.FromSeconds(30);
        });
        builder.Services.AddFeedbackPublisher(o =>
        {
            o.MaxBatchSize = settings.BatchSize;
            o.MaxInFlightMessages = Math.Clamp(2000 / settings.BatchSize, 8, 256);
        });
        return builder.Build();
    }

    private static async Task StopQuietlyAsync(IHost host)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Redact(Uri uri) =>
        string.IsNullOrEmpty(uri.UserInfo) ? uri.ToString() : uri.ToString().Replace(uri.UserInfo + "@", uri.UserInfo.Split(':')[0] + ":***@", StringComparison.Ordinal);

    private sealed class Progress
    {
        public long Sent;
        public long Confirmed;
        public long Failed;
        public volatile bool Stopping;

        public void Completed(bool ok) => Interlocked.Increment(ref ok ? ref Confirmed : ref Failed);
    }

    /// <summary>Ctrl+C is handled by the command line (it cancels the run, which then flushes), not by the host.</summary>
    private sealed class CallerControlledLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
