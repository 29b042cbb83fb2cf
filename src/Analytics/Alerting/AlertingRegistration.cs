using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Analytics.Alerting;

public static class AlertingRegistration
{
    /// <summary>Alert events, their inline projection (analytics.alerts) and the delivery outbox table.</summary>
    public static void AddRegressionAlertStore(this StoreOptions options)
    {
        options.Events.AddEventType<RegressionDetected>();
        options.Events.AddEventType<RegressionResolved>();
        options.Events.AddEventType<RegressionAcknowledged>();
        options.Projections.Add(new AlertsProjection(), ProjectionLifecycle.Inline);
        options.Storage.ExtendedSchemaObjects.Add(AlertDeliveries.Definition());
    }

    /// <summary>The detector and the delivery of its alerts (worker).</summary>
    public static IServiceCollection AddRegressionAlerts(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("Alerts");
        services.Configure<AlertingOptions>(section);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<AlertMetrics>();
        // No request logging: a webhook URL carries its secret token in the path (docs/security.md, "Alert webhooks").
        services.AddHttpClient(AlertDelivery.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10)).RemoveAllLoggers();
        if (section.GetValue("Enabled", true))
        {
            services.AddHostedService<RegressionWatch>();
            services.AddHostedService<AlertDelivery>();
        }

        return services;
    }
}
