using Analytics.Alerting;
using Analytics.Ingesting;
using Analytics.Satisfaction;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Analytics.Hosting;

public static class Telemetry
{
    /// <summary>
    /// One OpenTelemetry setup for every host: traces (MassTransit, Marten, Npgsql, ASP.NET Core),
    /// metrics (the platform's meters, runtime), Prometheus scraping, and OTLP export when
    /// OTEL_EXPORTER_OTLP_ENDPOINT is set (metrics too unless OTEL_METRICS_EXPORTER=none). Spans of the
    /// ingestion path and the satisfaction projection: IngestionTracing, SatisfactionTracing (docs/telemetry.md).
    /// </summary>
    public static IServiceCollection AddAnalyticsTelemetry(this IServiceCollection services, IConfiguration configuration,
        string serviceName)
    {
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName));
        if (otlp)
        {
            // Spans are only recorded when there is somewhere to send them: recording every
            // MassTransit/Marten/Npgsql span per event costs worker CPU for nothing otherwise.
            telemetry.WithTracing(tracing => tracing
                .AddSource("MassTransit", "Marten", IngestionTracing.SourceName, SatisfactionTracing.SourceName)
                .AddNpgsql()
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter());
        }

        telemetry
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(IngestionMetrics.MeterName, AlertMetrics.MeterName, ProjectionHealth.MeterName, "MassTransit", "Marten", "Npgsql")
                    .AddAspNetCoreInstrumentation()
                    .AddPrometheusExporter();
                // OTEL_METRICS_EXPORTER=none (docker compose): Prometheus scrapes /metrics, the collector carries traces only.
                if (otlp && !string.Equals(configuration["OTEL_METRICS_EXPORTER"], "none", StringComparison.OrdinalIgnoreCase))
                {
                    metrics.AddOtlpExporter();
                }
            });
        return services;
    }
}
