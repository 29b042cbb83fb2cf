using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using Analytics.Alerting;
using Analytics.Satisfaction;
using Analytics.Triage;
using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
    /// <param name="planEachQuery">
    /// The API's: PostgreSQL plans every statement for its parameter values (<see cref="CreateDataSource"/>).
    /// </param>
    public static IServiceCollection AddEventStore(this IServiceCollection services, IConfiguration configuration,
        bool runProjectionDaemon = false, bool planEachQuery = false)
    {
        var connectionString = configuration.GetConnectionString("Marten")
            ?? throw new InvalidOperationException("ConnectionStrings:Marten is not configured.");
        services.AddSingleton(_ => CreateDataSource(connectionString, planEachQuery));
        // Least privilege (docs/security.md): with a schema owner configured that is not the login of
        // ConnectionStrings:Marten, the owner migrates at startup and the host serves as the DML-only role.
        // With the owner's user name but no password (the API) the host neither migrates nor runs any DDL.
        var owner = OwnerConnectionString(configuration, connectionString);
        var separateOwner = owner != connectionString;
        services.AddKeyedSingleton(OwnerDataSourceKey, (sp, _) => separateOwner ? CreateDataSource(owner) : sp.GetRequiredService<NpgsqlDataSource>());
        if (separateOwner && !string.IsNullOrEmpty(configuration["EventStore:OwnerPassword"]))
        {
            var applicationRole = new NpgsqlConnectionStringBuilder(connectionString).Username
                ?? throw new InvalidOperationException("ConnectionStrings:Marten has no Username.");
            services.AddHostedService(sp => ActivatorUtilities.CreateInstance<EventStoreMigration>(sp,
                sp.GetRequiredKeyedService<NpgsqlDataSource>(OwnerDataSourceKey), applicationRole));
        }

        var marten = services.AddMarten(sp =>
            {
                var options = new StoreOptions();
                ConfigureEventStore(options, sp.GetRequiredService<NpgsqlDataSource>());
                if (separateOwner)
                {
                    options.AutoCreateSchemaObjects = AutoCreate.None; // the application role may not run DDL
                }

                return options;
            })
            .UseLightweightSessions();
        if (!separateOwner)
        {
            marten.ApplyAllDatabaseChangesOnStartup();
        }
        if (runProjectionDaemon)
        {
            // Hot/cold: with several workers one runs the projections (leader election through a PostgreSQL
            // advisory lock); another takes over when it dies.
            marten.AddAsyncDaemon(DaemonMode.HotCold);
            services.AddHostedService<ProjectionWakeupRelease>();
        }

        return services;
    }

    /// <summary>
    /// Closes the LISTEN connection of the daemon's wakeup (UseListenNotifyForEventAppends) when the host's container is
    /// disposed, which is after every hosted service, the daemon's included, has stopped. Marten creates the wakeup with
    /// each daemon and never disposes it; left open it holds a connection, and for the application role it keeps the
    /// database from being dropped. Not done in StopAsync: hosted services stop in turn and the daemon may still wait on it.
    /// </summary>
    private sealed class ProjectionWakeupRelease(IDocumentStore store) : IHostedService, IDisposable
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() => (store as DocumentStore)?.ReleaseProjectionWakeup();
    }

    /// <summary>
    /// Closes the LISTEN connection of the wakeup Marten created with this store's last daemon (it never closes it itself).
    /// For daemons built outside a host with <c>BuildProjectionDaemonAsync</c>: call it once they are stopped.
    /// </summary>
    public static void ReleaseProjectionWakeup(this DocumentStore store) => store.Options.Projections.Wakeup?.Dispose();

    /// <summary>The keyed <see cref="NpgsqlDataSource"/> of the schema owner (the application's own when no owner is configured).</summary>
    public const string OwnerDataSourceKey = "EventStoreOwner";

    /// <summary>
    /// ConnectionStrings:Marten with the owner's login (EventStore:OwnerUsername/OwnerPassword) instead of its own: same
    /// server and database, so the owner can never migrate a different database than the one the host serves.
    /// </summary>
    public static string OwnerConnectionString(IConfiguration configuration, string connectionString)
    {
        var username = configuration["EventStore:OwnerUsername"];
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(username) || username == builder.Username)
        {
            return connectionString;
        }

        builder.Username = username;
        builder.Password = configuration["EventStore:OwnerPassword"];
        builder.MaxPoolSize = 2;
        return builder.ConnectionString;
    }

    /// <summary>
    /// The data source every part of the platform uses. Statements are prepared automatically once used
    /// twice: the projection's and the append path's statements are few and repeated, and without
    /// preparing, PostgreSQL spends most of its time planning them (rebuild 1,470 → 3,517 events/s).
    /// </summary>
    /// <param name="planEachQuery">
    /// Sets <c>plan_cache_mode = force_custom_plan</c> on every connection. After five runs of a prepared statement
    /// PostgreSQL may move it to a generic plan, made without its values; the API's questions carry optional filters
    /// (<c>$n::text is null or …</c>) that fold away only in a plan for the values, and a generic one keeps them all:
    /// 30 days of GET /api/conversations on a 10M-event store went from milliseconds to over 30 s. The API's statements
    /// are still prepared (parsed once), only planned each time, which costs well under a millisecond.
    /// </param>
    public static NpgsqlDataSource CreateDataSource(string connectionString, bool planEachQuery = false)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 100;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }

        if (planEachQuery)
        {
            builder.ConnectionStringBuilder.Options = string.Join(' ',
                new[] { builder.ConnectionStringBuilder.Options, "-c plan_cache_mode=force_custom_plan" }.Where(o => !string.IsNullOrWhiteSpace(o)));
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
        // Each append also sends a PostgreSQL NOTIFY, so the projection daemon's high-water mark moves when events
        // are committed instead of at its next poll (the poll stays as the fallback).
        options.Events.UseListenNotifyForEventAppends = true;
        // The trace context each event was ingested with (IngestionTracing): trace id and W3C traceparent.
        options.Events.MetadataConfig.CorrelationIdEnabled = true;
        options.Events.MetadataConfig.CausationIdEnabled = true;
        // Event headers: the hash of each event's canonical payload (Ingesting.PayloadHash), which tells a duplicate
        // from an eventId reused for other content. A store from before gets the column at its next migration.
        options.Events.MetadataConfig.HeadersEnabled = true;
        options.Events.AddEventType<ConversationStartedRecorded>();
        options.Events.AddEventType<ResponseGeneratedRecorded>();
        options.Events.AddEventType<ResponseRatedRecorded>();
        options.Events.AddEventType<ResponsesComparedRecorded>();
        options.AddSatisfactionViews();
        options.AddRegressionAlertStore();
        options.Storage.ExtendedSchemaObjects.Add(Exporting.PreferencePairsExport.Definition()); // who exported what (docs/security.md)
        options.AddTriage();
    }
}
