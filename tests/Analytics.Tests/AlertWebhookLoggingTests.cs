using Analytics.Alerting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Analytics.Tests;

/// <summary>The alert webhook client never logs its URL, whose path carries the webhook's secret token.</summary>
public class AlertWebhookLoggingTests
{
    [Fact]
    public async Task A_webhook_call_logs_no_url_even_at_Trace()
    {
        var logged = new List<string>();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Alerts:Enabled"] = "false" }).Build();
        var services = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new Capture(logged)));
        services.AddRegressionAlerts(configuration);
        await using var provider = services.BuildServiceProvider();
        using var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient(AlertDelivery.HttpClientName);

        // Port 9 on loopback (discard) is closed here: the call fails fast after the client's handlers ran.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.PostAsync("http://127.0.0.1:9/hooks/T0KEN-S3CRET-PATH", new StringContent("{}")));

        Assert.DoesNotContain(logged, line => line.Contains("T0KEN-S3CRET-PATH", StringComparison.Ordinal));
    }

    private sealed class Capture(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                lock (lines)
                {
                    lines.Add($"{category} scope: {state}");
                }

                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines)
                {
                    lines.Add($"{category}: {formatter(state, exception)}");
                }
            }
        }
    }
}
