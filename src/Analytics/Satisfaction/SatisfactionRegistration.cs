using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Satisfaction;

public static class SatisfactionRegistration
{
    /// <summary>The satisfaction projection runs in the async daemon (cross-stream views).</summary>
    public static void AddSatisfactionViews(this StoreOptions options) =>
        options.Projections.Add(new SatisfactionProjection(), ProjectionLifecycle.Async);

    public static IServiceCollection AddSatisfactionQueries(this IServiceCollection services) =>
        services.AddSingleton<SatisfactionQueries>();
}
