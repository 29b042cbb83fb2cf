using System.CommandLine;
using System.Globalization;
using Analytics.Simulator;

const string DefaultRabbitMq = "amqp://analytics_publisher:analytics_publisher@127.0.0.1:5672/analytics";

var rabbitMq = new Option<string?>("--rabbitmq")
{
    Description = $"RabbitMQ AMQP URI [default: env RabbitMq__Uri, else {DefaultRabbitMq}]",
};
rabbitMq.Validators.Add(result =>
{
    var value = result.GetValueOrDefault<string?>();
    if (value is not null && !IsAmqpUri(value))
    {
        result.AddError($"--rabbitmq must be an amqp:// URI, not '{value}'");
    }
});
var seed = new Option<int>("--seed") { Description = "Seed of the traffic model: the same seed gives the same events, ids included", DefaultValueFactory = _ => 42 };
var events = new Option<long>("--events") { Description = "Total events to send (0 = unlimited)", DefaultValueFactory = _ => 0 };
var rate = new Option<double>("--rate") { Description = "Events per second (0 = as fast as possible)", DefaultValueFactory = _ => 0 };
var duration = new Option<double>("--duration") { Description = "Stop after this many seconds (0 = unlimited)", DefaultValueFactory = _ => 0 };
var batchSize = new Option<int>("--batch-size") { Description = "Events per message (1 = one event per message, at most 1000)", DefaultValueFactory = _ => 100 };
var regression = new Option<string?>("--inject-regression")
{
    Description = "MODEL[@VERSION]:CAPABILITY:AFTER:DROP, e.g. atlas:browsing:5000:0.10 lowers the thumbs-up rate of that cell by 10 points after 5000 events",
};
var dryRun = new Option<bool>("--dry-run") { Description = "Print the events as JSON lines on stdout (summary on stderr) instead of publishing" };
var start = new Option<string?>("--start")
{
    Description = "Virtual time of the first event (ISO 8601). Default: 2026-01-01T00:00:00Z for --dry-run; for publishing, placed so event times track the wall clock",
};
var conversationsPerMinute = new Option<double?>("--conversations-per-minute")
{
    Description = "Conversation arrival rate in virtual time. Default: matches --rate when publishing paced, else 120",
};

foreach (var option in new Option[] { events, rate, duration })
{
    option.Validators.Add(result =>
    {
        if (Convert.ToDouble(result.GetValueOrDefault<object>(), CultureInfo.InvariantCulture) < 0)
        {
            result.AddError($"{option.Name} must be 0 or more");
        }
    });
}

batchSize.Validators.Add(result =>
{
    if (result.GetValueOrDefault<int>() is < 1 or > 1000)
    {
        result.AddError("--batch-size must be between 1 and 1000");
    }
});
regression.Validators.Add(result =>
{
    if (result.GetValueOrDefault<string?>() is { } text)
    {
        try
        {
            var parsed = RegressionInjection.Parse(text);
            if (!TrafficModel.Models.Any(m => m.Id == parsed.ModelId && (parsed.ModelVersion is null || m.Version == parsed.ModelVersion)))
            {
                result.AddError($"--inject-regression: unknown model '{text.Split(':')[0]}'; the simulated models are " +
                    string.Join(", ", TrafficModel.Models.Select(m => $"{m.Id}@{m.Version}")));
            }
            else if (!TrafficModel.Capabilities.Contains(parsed.Capability))
            {
                result.AddError($"--inject-regression: unknown capability '{parsed.Capability}'; the simulated capabilities are " +
                    string.Join(", ", TrafficModel.Capabilities));
            }
        }
        catch (FormatException ex)
        {
            result.AddError($"--inject-regression: {ex.Message}");
        }
    }
});
start.Validators.Add(result =>
{
    if (result.GetValueOrDefault<string?>() is { } text && !TryParseStart(text, out _))
    {
        result.AddError($"--start must be an ISO 8601 time such as 2026-03-01T12:00:00Z, not '{text}'");
    }
});
conversationsPerMinute.Validators.Add(result =>
{
    if (result.GetValueOrDefault<double?>() is <= 0)
    {
        result.AddError("--conversations-per-minute must be more than 0");
    }
});

var root = new RootCommand(
    "Simulates a fleet of chat services: conversations, responses, ratings, comparisons and regenerations, " +
    "deterministic from --seed, published to the analytics ingestion exchange on RabbitMQ. " +
    "Event ids come from the seed too: re-running a seed re-sends the same events (ingestion deduplicates them); use another seed for fresh traffic.")
{
    rabbitMq, seed, events, rate, duration, batchSize, regression, dryRun, start, conversationsPerMinute,
};
root.SetAction((parse, cancellationToken) =>
{
    var settings = new SimulatorSettings(
        new Uri(parse.GetValue(rabbitMq) ?? (Environment.GetEnvironmentVariable("RabbitMq__Uri") is { Length: > 0 } fromEnv ? fromEnv : DefaultRabbitMq)),
        parse.GetValue(seed),
        parse.GetValue(events),
        parse.GetValue(rate),
        parse.GetValue(duration),
        parse.GetValue(batchSize),
        parse.GetValue(regression) is { } text ? RegressionInjection.Parse(text) : null,
        parse.GetValue(dryRun),
        parse.GetValue(start) is { } at && TryParseStart(at, out var parsed) ? parsed : null,
        parse.GetValue(conversationsPerMinute));
    return SimulatorRun.ExecuteAsync(settings, cancellationToken);
});

// Ctrl+C / SIGTERM cancel the run; it then flushes what was queued, so allow time for that.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(60) });

static bool IsAmqpUri(string value) =>
    Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "amqp" or "amqps" or "rabbitmq" or "rabbitmqs";

static bool TryParseStart(string text, out DateTimeOffset value) =>
    DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

/// <summary>The simulator entry point is internal so that test projects referencing both hosts see one Program (the API).</summary>
internal partial class Program;
