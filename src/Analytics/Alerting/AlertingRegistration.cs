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
        services.AddOptions<AlertingOptions>().Bind(section)
            .Validate(o => o.MaxDeliveryAttempts >= 1, "Alerts:MaxDeliveryAttempts must be at least 1.")
            .Validate(o => o.DeliveryTimeoutSeconds > 0, "Alerts:DeliveryTimeoutSeconds must be positive.")
            .Validate(o => o.DeliveryLeaseSeconds > o.DeliveryTimeoutSeconds, "Alerts:DeliveryLeaseSeconds must exceed Alerts:DeliveryTimeoutSeconds (a lease must outlive the attempt it covers).")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<AlertMetrics>();
        // No request logging: a webhook URL carries its secret token in the path (docs/security.md, "Alert webhooks").
        // Each attempt has its own timeout (Alerts:DeliveryTimeoutSeconds); the client's is a backstop.
        services.AddHttpClient(AlertDelivery.HttpClientName, client => client.Timeout = TimeSpan.FromMinutes(5)).RemoveAllLoggers();
        if (section.GetValue("Enabled", true))
        {
            services.AddHostedService<RegressionWatch>();
            services.AddHostedService<AlertDelivery>();
        }

        return services;
    }
}
