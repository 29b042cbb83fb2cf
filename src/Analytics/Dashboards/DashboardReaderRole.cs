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
/// role may create databases, not roles) read the projection tables and nothing else: USAGE on the schema and
/// SELECT on the projection tables (sat_*, alerts) and the triage cluster tables (tri_*), never the raw event tables (mt_events holds comments) and no writes. Runs in
/// the background at startup, retrying until Marten has created the tables; re-applied on every start, so a
/// table Marten recreates gets its grant back.
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
    /// The tables the role may read (LIKE patterns in the schema): the satisfaction projection (sat_*), the alerts
    /// projection and the triage cluster tables (tri_*), nothing else.
    /// </summary>
    public static IReadOnlyList<string> ReadableTablePatterns { get; } = ["sat\\_%", "alerts", "tri\\_%"];

    /// <summary>
    /// Grants the role exactly SELECT on the projection tables (sat_*) of schema analytics in the database of
    /// <paramref name="dataSource"/>; any other table privilege it has in the schema is revoked, in the same
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
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "select quote_ident(schemaname) || '.' || quote_ident(tablename) from pg_tables where schemaname = $1 and tablename like any($2) order by 1",
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

        await using var grant = new NpgsqlCommand(
            $"""
            revoke all on all tables in schema {EventStoreRegistration.SchemaName} from {RoleName};
            grant usage on schema {EventStoreRegistration.SchemaName} to {RoleName};
            grant select on {string.Join(", ", tables)} to {RoleName};
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Dashboard role {Role} may read the projection tables (sat_*, tri_*)")]
    private static partial void LogGranted(ILogger logger, string role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboards get no database access: {Reason}")]
    private static partial void LogRoleMissing(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Granting the dashboard role failed, retrying: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string reason);
}
