using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Dashboards;

public static class DashboardRegistration
{
    /// <summary>Grants Grafana's read-only role SELECT on the projection tables at startup (run in the worker).</summary>
    public static IServiceCollection AddDashboardReaderRole(this IServiceCollection services) =>
        services.AddHostedService<DashboardReaderRole>();
}
