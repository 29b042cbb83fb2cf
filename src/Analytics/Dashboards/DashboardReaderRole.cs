using Analytics.Alerting;
using Analytics.Conversations;
using Analytics.Satisfaction;
using Analytics.Triage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Analytics.Dashboards;

/// <summary>
/// Lets Grafana's login (<see cref="RoleName"/>, created by infra/postgres/dashboard-reader.sql: the application
/// role may create databases, not roles) read the projection tables without their free-text columns and nothing
/// else: USAGE on schema dashboard and SELECT on its views (<see cref="DashboardViews"/>: sat_*, alerts, tri_* without
/// comments, excerpts or labels); nothing in schema analytics (not the tables, not mt_events) and no writes. Runs in
/// the background at startup, retrying until Marten has created the tables; re-applied on every start, so the views
/// follow the tables' columns.
/// </summary>
public sealed partial class DashboardReaderRole(
    [FromKeyedServices(EventStoreRegistration.OwnerDataSourceKey)] NpgsqlDataSource dataSource, // GRANT needs the schema owner
    ILogger<DashboardReaderRole> logger) : BackgroundService
{
    public const string RoleName = "analytics_dashboard";

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>The projection tables that must exist before the grant (Marten creates them at startup).</summary>
    public static IReadOnlyList<string> RequiredTables { get; } =
        [SatisfactionProjection.Conversations, SatisfactionProjection.Responses, SatisfactionProjection.Ratings, SatisfactionProjection.Comparisons,
            AlertsProjection.Alerts, TriageTables.Clusters, TriageTables.Items];

    /// <summary>
    /// The tables that get a dashboard view (LIKE patterns in schema analytics): the satisfaction projection (sat_*),
    /// the alerts projection, the alert outbox (alert_deliveries) and the triage cluster tables (tri_*), nothing else.
    /// </summary>
    public static IReadOnlyList<string> ReadableTablePatterns { get; } = ["sat\\_%", "alerts", "alert\\_deliveries", "tri\\_%"];

    /// <summary>
    /// Recreates the dashboard views of the projection tables in the database of <paramref name="dataSource"/> and
    /// grants the role exactly SELECT on them; any privilege it has in schema analytics is revoked, in the same
    /// transaction. False when the projection tables do not exist yet; throws when the role is missing.
    /// </summary>
    public static async Task<bool> TryGrantAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var check = new NpgsqlCommand(
            "select exists(select 1 from pg_roles where rolname = $1), bool_and(to_regclass(t) is not null) from unnest($2::text[]) t", connection))
        {
            check.Parameters.Add(new NpgsqlParameter { Value = RoleName });
            check.Parameters.Add(new NpgsqlParameter { Value = RequiredTables.ToArray() });
            await using var reader = await check.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            if (!reader.GetBoolean(0))
            {
                throw new InvalidOperationException(
                    $"PostgreSQL role {RoleName} does not exist: run infra/postgres/dashboard-reader.sql as a superuser.");
            }

            if (!reader.GetBoolean(1))
            {
                return false;
            }
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Two workers starting together would otherwise drop and create the same views at once.
        await using (var serialize = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext('analytics.dashboard_views'))", connection, transaction))
        {
            await serialize.ExecuteNonQueryAsync(cancellationToken);
        }

        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "select tablename from pg_tables where schemaname = $1 and tablename like any($2) order by 1",
            connection, transaction))
        {
            list.Parameters.Add(new NpgsqlParameter { Value = EventStoreRegistration.SchemaName });
            list.Parameters.Add(new NpgsqlParameter { Value = ReadableTablePatterns.ToArray() });
            await using var reader = await list.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }

        await DashboardViews.RecreateAsync(connection, transaction, EventStoreRegistration.SchemaName, tables, cancellationToken);

        // Privileges in schema analytics (granted by older versions) are revoked only when the role has some: a REVOKE
        // rewrites the catalog rows even when it changes nothing, and would race the worker's own migration grants
        // ("tuple concurrently updated") when two workers start together.
        await using (var held = new NpgsqlCommand(
            "select has_schema_privilege($1, $2, 'USAGE') or exists(select 1 from information_schema.role_table_grants where grantee = $1 and table_schema = $2)",
            connection, transaction))
        {
            held.Parameters.Add(new NpgsqlParameter { Value = RoleName });
            held.Parameters.Add(new NpgsqlParameter { Value = EventStoreRegistration.SchemaName });
            if ((bool)(await held.ExecuteScalarAsync(cancellationToken))!)
            {
                await using var revoke = new NpgsqlCommand(
                    $"""
                    revoke all on all tables in schema {EventStoreRegistration.SchemaName} from {RoleName};
                    revoke all on schema {EventStoreRegistration.SchemaName} from {RoleName};
                    """, connection, transaction);
                await revoke.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using var grant = new NpgsqlCommand(
            $"""
            grant usage on schema {DashboardViews.SchemaName} to {RoleName};
            grant select on all tables in schema {DashboardViews.SchemaName} to {RoleName};
            """, connection, transaction);
        await grant.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await TryGrantAsync(dataSource, stoppingToken))
                {
                    LogGranted(logger, RoleName);
                    return;
                }
            }
            catch (InvalidOperationException e)
            {
                LogRoleMissing(logger, e.Message);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                // Database not reachable yet, or two workers granting at once ("tuple concurrently updated").
                LogRetrying(logger, e.Message);
            }

            try
            {
                await Task.Delay(RetryDelay, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dashboard role {Role} may read the dashboard views (projection tables without free text)")]
    private static partial void LogGranted(ILogger logger, string role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboards get no database access: {Reason}")]
    private static partial void LogRoleMissing(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Granting the dashboard role failed, retrying: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string reason);
}
