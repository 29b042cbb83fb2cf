using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Analytics.Contracts;
using Analytics.IntegrationTests;
using Analytics.Simulator;

namespace Analytics.Tests;

/// <summary>
/// The simulator's command line (src/Analytics.Simulator) as a user runs it: <c>--dry-run</c> prints the seeded events
/// as JSON lines and never connects to the broker; <c>--inject-regression</c> lowers the cell's thumbs-up rate only
/// for conversations that start after its AFTER events; a malformed or unknown injection is refused with its reason.
/// </summary>
public sealed class SimulatorCommandTests
{
    /// <summary>Nothing listens here: a run that tried to publish would fail to connect.</summary>
    private const string NoBroker = "amqp://nobody:nothing@127.0.0.1:1/none";

    [Fact]
    public async Task A_dry_run_prints_the_seeded_events_as_json_lines_without_connecting_to_the_broker()
    {
        var (exitCode, stdout, stderr) = await RunAsync("--dry-run", "--events", "400", "--seed", "3", "--rabbitmq", NoBroker);

        Assert.True(exitCode == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(400, lines.Length);
        var expected = new TrafficModel(new TrafficOptions { Seed = 3, Start = TrafficOptions.DefaultStart }).Generate().Take(400)
            .Select(e => FeedbackJson.ToElement(e).GetProperty("eventId").GetGuid());
        Assert.Equal(expected, lines.Select(line => JsonSerializer.Deserialize<JsonElement>(line).GetProperty("eventId").GetGuid()));
        Assert.All(lines, line => Assert.True(FeedbackJson.EventTypes.ContainsKey(JsonSerializer.Deserialize<JsonElement>(line).GetProperty("type").GetString()!)));
        // The same seed prints the same events again, byte for byte.
        Assert.Equal(stdout, (await RunAsync("--dry-run", "--events", "400", "--seed", "3", "--rabbitmq", NoBroker)).Stdout);
    }

    [Fact]
    public async Task An_injected_regression_lowers_the_cell_only_for_conversations_after_its_offset()
    {
        const int events = 30_000;
        const int after = 15_000;
        var plainLines = Lines((await RunAsync("--dry-run", "--events", $"{events}", "--seed", "11")).Stdout);
        var injectedLines = Lines((await RunAsync("--dry-run", "--events", $"{events}", "--seed", "11", "--inject-regression", $"atlas:browsing:{after}:0.5")).Stdout);
        Assert.Equal(events, plainLines.Length);
        Assert.Equal(events, injectedLines.Length);

        // Up to the offset the two runs are the same events; conversations that start after it lose about 50 points on the cell.
        Assert.Equal(plainLines.Take(after), injectedLines.Take(after));
        var plain = plainLines.Select(line => JsonSerializer.Deserialize<JsonElement>(line)).ToList();
        var injected = injectedLines.Select(line => JsonSerializer.Deserialize<JsonElement>(line)).ToList();
        var late = ConversationsStartedIn(injected.Skip(after));
        var drop = UpRate(plain, "atlas", "browsing", ConversationsStartedIn(plain.Skip(after))) - UpRate(injected, "atlas", "browsing", late);
        Assert.InRange(drop, 0.35, 0.65);
    }

    [Theory]
    [InlineData("atlas:browsing:soon:0.1", "AFTER must be a number of events >= 0, not 'soon'")]
    [InlineData("atlas:browsing:0:1.5", "DROP must be between 0 and 1")]
    [InlineData("atlas:browsing:0", "expected MODEL[@VERSION]:CAPABILITY:AFTER:DROP")]
    [InlineData("nova:browsing:0:0.1", "unknown model 'nova'")]
    [InlineData("atlas@1999-01:browsing:0:0.1", "unknown model 'atlas@1999-01'")]
    [InlineData("atlas:dancing:0:0.1", "unknown capability 'dancing'")]
    public async Task A_malformed_or_unknown_injection_is_refused_with_its_reason(string injection, string reason)
    {
        var (exitCode, stdout, stderr) = await RunAsync("--dry-run", "--events", "10", "--inject-regression", injection);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(reason, stderr + stdout);
        Assert.DoesNotContain("\"eventId\"", stdout); // nothing generated
    }

    private static string[] Lines(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static HashSet<Guid> ConversationsStartedIn(IEnumerable<JsonElement> events) =>
        [.. events.Where(e => e.GetProperty("type").GetString() == nameof(ConversationStarted)).Select(e => e.GetProperty("conversationId").GetGuid())];

    /// <summary>The thumbs-up share of the cell's up/down ratings in the given conversations.</summary>
    private static double UpRate(IEnumerable<JsonElement> events, string model, string capability, HashSet<Guid> conversations)
    {
        var ratings = events
            .Where(e => e.GetProperty("type").GetString() == nameof(ResponseRated) && conversations.Contains(e.GetProperty("conversationId").GetGuid()))
            .Where(e => e.GetProperty("model").GetProperty("id").GetString() == model
                && e.GetProperty("capabilities").EnumerateArray().Any(c => c.GetString() == capability))
            .Select(e => e.GetProperty("rating").GetString())
            .Where(r => r is "up" or "down")
            .ToList();
        Assert.True(ratings.Count >= 100, $"only {ratings.Count} ratings of {model} × {capability}");
        return ratings.Count(r => r == "up") / (double)ratings.Count;
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] arguments)
    {
        var configuration = typeof(SimulatorCommandTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(TestEnvironment.RepositoryRoot(), "src", "Analytics.Simulator", "bin", configuration, "net10.0", "Analytics.Simulator.dll");
        Assert.True(File.Exists(dll), $"build the simulator first: {dll}");
        var start = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment.Remove("RabbitMq__Uri");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
