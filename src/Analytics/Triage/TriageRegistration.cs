using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Analytics.Triage;

public static class TriageRegistration
{
    /// <summary>
    /// The thumbs-down clusterer, as a subscription of the async daemon (run it where the daemon runs: the worker).
    /// Triage:Enabled=false leaves it out.
    /// </summary>
    public static IServiceCollection AddTriageClustering(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<TriageOptions>(configuration.GetSection(TriageOptions.Section));
        if (!configuration.GetSection(TriageOptions.Section).GetValue(nameof(TriageOptions.Enabled), true))
        {
            return services;
        }

        services.Configure<TriageFaultOptions>(configuration.GetSection("Faults"));
        services.AddSingleton<TriageFaults>();
        services.AddSingleton<SentenceEmbedder>();
        services.AddSingleton<ThumbsDownClusterer>();
        services.TryAddSingleton(TimeProvider.System);
        services.ConfigureMarten((provider, options) => options.Projections.Subscribe(provider.GetRequiredService<ThumbsDownClusterer>()));
        return services;
    }

    public static IServiceCollection AddTriageQueries(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        return services.AddSingleton<TriageQueries>();
    }
}
