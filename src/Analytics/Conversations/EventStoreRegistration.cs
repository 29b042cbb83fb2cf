using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using Analytics.Satisfaction;
using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Weasel.Core;

namespace Analytics.Conversations;

public static class EventStoreRegistration
{
    public const string SchemaName = "analytics";

    /// <summary>
    /// The Marten event store: one stream per conversation (Guid ids), the producer's eventId as the
    /// event id with a unique index on it (the idempotency guard), quick appends.
    /// </summary>
    public static IServiceCollection AddEventStore(this IServiceCollection services, IConfiguration configuration,
        bool runProjectionDaemon = false)
    {
        var connectionString = configuration.GetConnectionString("Marten")
            ?? throw new InvalidOperationException("ConnectionStrings:Marten is not configured.");
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
        var marten = services.AddMarten(sp =>
            {
                var options = new StoreOptions();
                ConfigureEventStore(options, sp.GetRequiredService<NpgsqlDataSource>());
                return options;
            })
            .ApplyAllDatabaseChangesOnStartup()
            .UseLightweightSessions();
        if (runProjectionDaemon)
        {
            // Hot/cold: with several workers one runs the projections (leader election through a PostgreSQL
            // advisory lock); another takes over when it dies.
            marten.AddAsyncDaemon(DaemonMode.HotCold);
        }

        return services;
    }

    public static void ConfigureEventStore(StoreOptions options, NpgsqlDataSource dataSource)
    {
        options.Connection(dataSource);
        options.DatabaseSchemaName = SchemaName;
        // Recorded events are JSON with camelCase names and enum names, never enum ordinals: history must not
        // change meaning if an enum is reordered, and SQL over mt_events stays readable.
        options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase);
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.Events.StreamIdentity = StreamIdentity.AsGuid;
        options.Events.AppendMode = EventAppendMode.Quick;
        options.Events.EnableUniqueIndexOnEventId = true;
        options.Events.AddEventType<ConversationStartedRecorded>();
        options.Events.AddEventType<ResponseGeneratedRecorded>();
        options.Events.AddEventType<ResponseRatedRecorded>();
        options.Events.AddEventType<ResponsesComparedRecorded>();
        options.AddSatisfactionViews();
    }
}
