using JasperFx;
using JasperFx.Events;
using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Analytics.Conversations;

public static class EventStoreRegistration
{
    public const string SchemaName = "analytics";

    /// <summary>
    /// The Marten event store: one stream per conversation (Guid ids), the producer's eventId as the
    /// event id with a unique index on it (the idempotency guard), quick appends.
    /// </summary>
    public static IServiceCollection AddEventStore(this IServiceCollection services, IConfiguration configuration,
        Action<StoreOptions>? configure = null)
    {
        var connectionString = configuration.GetConnectionString("Marten")
            ?? throw new InvalidOperationException("ConnectionStrings:Marten is not configured.");
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
        services.AddMarten(sp =>
            {
                var options = new StoreOptions();
                ConfigureEventStore(options, sp.GetRequiredService<NpgsqlDataSource>());
                configure?.Invoke(options);
                return options;
            })
            .ApplyAllDatabaseChangesOnStartup()
            .UseLightweightSessions();
        return services;
    }

    public static void ConfigureEventStore(StoreOptions options, NpgsqlDataSource dataSource)
    {
        options.Connection(dataSource);
        options.DatabaseSchemaName = SchemaName;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.Events.StreamIdentity = StreamIdentity.AsGuid;
        options.Events.AppendMode = EventAppendMode.Quick;
        options.Events.EnableUniqueIndexOnEventId = true;
        options.Events.AddEventType<ConversationStartedRecorded>();
        options.Events.AddEventType<ResponseGeneratedRecorded>();
        options.Events.AddEventType<ResponseRatedRecorded>();
        options.Events.AddEventType<ResponsesComparedRecorded>();
    }
}
