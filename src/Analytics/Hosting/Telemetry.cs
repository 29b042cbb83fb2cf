using Analytics.Ingesting;
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
    /// OTEL_EXPORTER_OTLP_ENDPOINT is set.
    /// </summary>
    public static IServiceCollection AddAnalyticsTelemetry(this IServiceCollection services, IConfiguration configuration,
        string serviceName)
    {
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource("MassTransit", "Marten")
                    .AddNpgsql()
                    .AddAspNetCoreInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(IngestionMetrics.MeterName, "MassTransit", "Marten", "Npgsql")
                    .AddAspNetCoreInstrumentation()
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        return services;
    }
}
