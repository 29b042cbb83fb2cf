using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using Analytics.Alerting;
using Analytics.Satisfaction;
using Analytics.Triage;
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
        services.AddSingleton(_ => CreateDataSource(connectionString));
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

    /// <summary>
    /// The data source every part of the platform uses. Statements are prepared automatically once used
    /// twice: the projection's and the append path's statements are few and repeated, and without
    /// preparing, PostgreSQL spends most of its time planning them (rebuild 1,470 → 3,517 events/s).
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 100;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }

        return builder.Build();
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
        // The trace context each event was ingested with (IngestionTracing): trace id and W3C traceparent.
        options.Events.MetadataConfig.CorrelationIdEnabled = true;
        options.Events.MetadataConfig.CausationIdEnabled = true;
        options.Events.AddEventType<ConversationStartedRecorded>();
        options.Events.AddEventType<ResponseGeneratedRecorded>();
        options.Events.AddEventType<ResponseRatedRecorded>();
        options.Events.AddEventType<ResponsesComparedRecorded>();
        options.AddSatisfactionViews();
        options.AddRegressionAlertStore();
        options.AddTriage();
    }
}
