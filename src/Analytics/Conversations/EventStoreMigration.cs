using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Analytics.Conversations;

/// <summary>
/// Least privilege for the event store: the schema owner (EventStore:OwnerUsername) applies Marten's schema changes
/// once at startup, then grants the application role (the login of ConnectionStrings:Marten) DML on everything in
/// the schema, now and for tables the owner creates later. The host then serves as the application role, which may
/// read and write rows but not create, alter or drop anything (docs/security.md). Registered before Marten's own
/// hosted services, so the async daemon and the consumers start on an up-to-date schema.
/// </summary>
public sealed partial class EventStoreMigration(NpgsqlDataSource ownerDataSource, string applicationRole, ILogger<EventStoreMigration> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await MigrateAsync(ownerDataSource, applicationRole, cancellationToken);
        LogMigrated(logger, new NpgsqlConnectionStringBuilder(ownerDataSource.ConnectionString).Username ?? "(owner)", applicationRole);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Applies the configured Marten schema as the owner of <paramref name="ownerDataSource"/> and grants DML to <paramref name="applicationRole"/>.</summary>
    /// Workers starting together (docker compose starts both roles at once) take turns: the second finds the schema
    /// up to date instead of racing the first to create the same objects (42P07).
    public static async Task MigrateAsync(NpgsqlDataSource ownerDataSource, string applicationRole, CancellationToken cancellationToken)
    {
        await using var lockConnection = await ownerDataSource.OpenConnectionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand($"select pg_advisory_lock({MigrationLockId})", lockConnection))
        {
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            using (var store = DocumentStore.For(options => EventStoreRegistration.ConfigureEventStore(options, ownerDataSource)))
            {
                await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            }

            await GrantApplicationRoleAsync(ownerDataSource, applicationRole, cancellationToken);
        }
        finally
        {
            await using var release = new NpgsqlCommand($"select pg_advisory_unlock({MigrationLockId})", lockConnection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// DML on all tables and sequences of the schema (TRUNCATE too: Marten's projection rebuilds clear tables), for
    /// existing objects and, through default privileges, for the ones the owner creates later. No CREATE on the schema.
    /// </summary>
    public static async Task GrantApplicationRoleAsync(NpgsqlDataSource ownerDataSource, string applicationRole, CancellationToken cancellationToken)
    {
        var schema = EventStoreRegistration.SchemaName;
        var role = QuoteIdentifier(applicationRole);
        await using var connection = await ownerDataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var grant = new NpgsqlCommand(
            $"""
            select pg_advisory_xact_lock({GrantLockId}); -- workers starting together: one grants at a time
            grant usage on schema {schema} to {role};
            grant select, insert, update, delete, truncate on all tables in schema {schema} to {role};
            grant usage, select, update on all sequences in schema {schema} to {role};
            grant execute on all functions in schema {schema} to {role};
            alter default privileges in schema {schema} grant select, insert, update, delete, truncate on tables to {role};
            alter default privileges in schema {schema} grant usage, select, update on sequences to {role};
            alter default privileges in schema {schema} grant execute on functions to {role};
            """, connection, transaction);
        await grant.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private const long GrantLockId = 7_318_802_011;

    private const long MigrationLockId = 7_318_802_012;

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    [LoggerMessage(Level = LogLevel.Information, Message = "Event store schema applied as {Owner}; {Role} may read and write rows only")]
    private static partial void LogMigrated(ILogger logger, string owner, string role);
}
