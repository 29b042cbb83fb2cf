using System.Globalization;
using System.Text.RegularExpressions;
using Analytics.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Analytics.Pipeline;

/// <summary>
/// Where the pipeline's figures come from: the Prometheus endpoints the workers export (ingest counters, projection
/// lag and dead letters) and RabbitMQ's per-queue metrics. Section Pipeline:MetricsUrls; the defaults are the native
/// run's addresses (infra/scripts/run-platform.sh).
/// </summary>
public sealed class PipelineOptions
{
    public List<string> MetricsUrls { get; } = [];

    public TimeSpan ScrapeTimeout { get; set; } = TimeSpan.FromSeconds(3);
}

public sealed record MetricsSource(string Url, bool Up, string? Error);

public sealed record LabelledCount(string Label, double Value);

public sealed record ProjectionStatus(string Projection, double LagEvents, double LagSeconds, double DeadLetters);

/// <summary>
/// The pipeline as the workers report it: counters since each worker started (the page turns two reads into
/// rates), projection lag and dead letters, and the depth of the ingest, refused and error queues.
/// </summary>
public sealed record PipelineStatus(
    DateTimeOffset ReadAt,
    double EventsStored,
    double EventsDuplicate,
    IReadOnlyList<LabelledCount> RefusedByReason,
    IReadOnlyList<ProjectionStatus> Projections,
    IReadOnlyList<LabelledCount> QueueDepths,
    IReadOnlyList<MetricsSource> Sources);

public static partial class PipelineEndpoint
{
    public static IServiceCollection AddPipelineStatus(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<PipelineOptions>(options =>
        {
            var urls = configuration.GetSection("Pipeline:MetricsUrls").GetChildren().Select(c => c.Value).OfType<string>().Where(u => u.Length > 0).ToList();
            options.MetricsUrls.AddRange(urls);
            if (TimeSpan.TryParse(configuration["Pipeline:ScrapeTimeout"], CultureInfo.InvariantCulture, out var timeout))
            {
                options.ScrapeTimeout = timeout;
            }
        });
        services.AddHttpClient(nameof(PipelineEndpoint));
        return services;
    }

    public static IEndpointRouteBuilder MapPipelineStatus(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/pipeline", GetAsync)
            .RequireAuthorization(ApiKeyAuthentication.Roles.Viewer)
            .WithTags("Pipeline")
            .WithSummary("The figures the workers and RabbitMQ export on their Prometheus endpoints (Pipeline:MetricsUrls): events stored and duplicate, refusals by reason, lag and dead letters per projection, queue depths, and which sources answered.");
        return app;
    }

    private static async Task<Ok<PipelineStatus>> GetAsync(IHttpClientFactory clients, IOptions<PipelineOptions> options, TimeProvider time, CancellationToken ct)
    {
        var client = clients.CreateClient(nameof(PipelineEndpoint));
        var scrapes = await Task.WhenAll(options.Value.MetricsUrls.Select(url => ScrapeAsync(client, url, options.Value.ScrapeTimeout, ct)));
        var samples = scrapes.SelectMany(s => s.Samples).ToList();

        double Sum(string name) => samples.Where(s => s.Name == name).Sum(s => s.Value);
        IReadOnlyList<LabelledCount> By(string name, string label) => samples
            .Where(s => s.Name == name && s.Labels.ContainsKey(label))
            .GroupBy(s => s.Labels[label]).Select(g => new LabelledCount(g.Key, g.Sum(s => s.Value))).OrderBy(c => c.Label, StringComparer.Ordinal).ToList();

        var lagEvents = By("analytics_projection_lag_events", "projection");
        var lagSeconds = By("analytics_projection_lag_seconds", "projection");
        var deadLetters = By("analytics_projection_dead_letters", "projection");
        var projections = lagEvents.Select(l => l.Label).Union(lagSeconds.Select(l => l.Label)).Order(StringComparer.Ordinal)
            .Select(p => new ProjectionStatus(p, Find(lagEvents, p), Find(lagSeconds, p), Find(deadLetters, p))).ToList();

        return TypedResults.Ok(new PipelineStatus(time.GetUtcNow(), Sum("analytics_ingest_events_stored_total"), Sum("analytics_ingest_events_duplicate_total"),
            By("analytics_ingest_events_refused_total", "reason"), projections,
            By("rabbitmq_detailed_queue_messages", "queue"), scrapes.Select(s => s.Source).ToList()));
    }

    private static double Find(IReadOnlyList<LabelledCount> counts, string label) => counts.FirstOrDefault(c => c.Label == label)?.Value ?? 0;

    private sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    private static async Task<(MetricsSource Source, IReadOnlyList<Sample> Samples)> ScrapeAsync(HttpClient client, string url, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await client.GetAsync(url, deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                return (new MetricsSource(url, false, $"HTTP {(int)response.StatusCode}"), []);
            }

            return (new MetricsSource(url, true, null), Parse(await response.Content.ReadAsStringAsync(deadline.Token)));
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return (new MetricsSource(url, false, ex is OperationCanceledException ? "timed out" : ex.Message), []);
        }
    }

    /// <summary>Prometheus text exposition: <c>name{label="value",...} number [timestamp]</c>; comments skipped.</summary>
    public static IReadOnlyList<(string Name, IReadOnlyDictionary<string, string> Labels, double Value)> ParseText(string text) =>
        Parse(text).Select(s => (s.Name, s.Labels, s.Value)).ToList();

    private static List<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            var match = SampleLine().Match(line.TrimEnd('\r'));
            if (!match.Success || !double.TryParse(match.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups["key"].Value, m => Regex.Unescape(m.Groups["val"].Value), StringComparer.Ordinal);
            samples.Add(new Sample(match.Groups["name"].Value, labels, value));
        }

        return samples;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(""""(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<val>(\\.|[^"\\])*)"""")]
    private static partial Regex LabelPair();
}
