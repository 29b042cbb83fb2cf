using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Analytics.Ingesting;

public static class IngestionRegistration
{
    /// <summary>Services of the ingestion slice (the group-commit writer and the append path, metrics).</summary>
    public static IServiceCollection AddFeedbackIngestion(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<IngestionOptions>(configuration.GetSection("Ingestion"));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IngestionMetrics>();
        services.AddSingleton(_ => Redacting.UserIdPseudonyms.FromConfiguration(configuration)); // Privacy:UserIdKey
        services.AddSingleton<FeedbackAppender>();
        services.AddSingleton<IngestionRoomFilter>();
        services.AddSingleton<GroupCommitWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<GroupCommitWriter>());
        services.Configure<IngestionFaultOptions>(configuration.GetSection("Faults"));
        services.AddSingleton<IngestionFaults>();
        return services;
    }

    /// <summary>The ingestion consumer on the bus.</summary>
    public static void AddFeedbackIngestionConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<IngestFeedbackConsumer, IngestFeedbackConsumerDefinition>();
        bus.AddReceiveObserver<UnreadableMessageObserver>();
    }
}
