using Analytics.Testing;

// The namespace the test projects have always used for this type: their files keep compiling unchanged.
namespace Analytics.IntegrationTests;

/// <summary>
/// Where the real services are. The defaults match infra/scripts/services-up.sh; override with
/// ANALYTICS_TEST_PG (an Npgsql connection string for a role that may CREATE DATABASE),
/// ANALYTICS_TEST_RABBITMQ_HOST/PORT/MANAGEMENT_PORT/USER/PASSWORD (an administrator). The hosts under test run
/// as the least-privilege users: ANALYTICS_TEST_PG_APP_USER/PASSWORD, ANALYTICS_TEST_RABBITMQ_WORKER_USER/PASSWORD,
/// ANALYTICS_TEST_RABBITMQ_PUBLISHER_USER/PASSWORD (defaults as created by services-up.sh).
/// </summary>
public static class TestEnvironment
{
    public static string PostgresAdmin =>
        Environment.GetEnvironmentVariable("ANALYTICS_TEST_PG")
        ?? "Host=127.0.0.1;Port=5432;Database=analytics;Username=analytics;Password=analytics";

    /// <summary>The DML-only application role the worker and API serve with (infra/postgres/app-role.sql).</summary>
    public static string PostgresAppUser => Environment.GetEnvironmentVariable("ANALYTICS_TEST_PG_APP_USER") ?? "analytics_app";

    public static string PostgresAppPassword => Environment.GetEnvironmentVariable("ANALYTICS_TEST_PG_APP_PASSWORD") ?? "analytics_app";

    /// <summary>The worker's broker user: configure/write/read in its vhost, no tags (services-up.sh).</summary>
    public static string RabbitWorkerUser => Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_WORKER_USER") ?? "analytics_worker";

    public static string RabbitWorkerPassword => Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_WORKER_PASSWORD") ?? "analytics_worker";

    /// <summary>The chat services' broker user: may only write to the ingestion exchange.</summary>
    public static string RabbitPublisherUser => Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_PUBLISHER_USER") ?? "analytics_publisher";

    public static string RabbitPublisherPassword => Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_PUBLISHER_PASSWORD") ?? "analytics_publisher";

    public static string RabbitHost => Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_HOST") ?? "127.0.0.1";

    public static int RabbitPort => int.Parse(Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_PORT") ?? "5672");

    public static int RabbitManagementPort => int.Parse(Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_MANAGEMENT_PORT") ?? "15672");

    public static string RabbitUser => Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_USER") ?? "analytics";

    public static string RabbitPassword => Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_PASSWORD") ?? "analytics";

    /// <summary>The checkout's root (<see cref="Analytics.Testing.RepositoryRoot"/>).</summary>
    public static string RepositoryRoot() => Analytics.Testing.RepositoryRoot.Find();

    /// <summary>The RabbitMQ management API as the administrator, and the PostgreSQL server as a role that may create databases.</summary>
    public static ServiceIsolation Isolation() =>
        new(PostgresAdmin, new Uri($"http://{RabbitHost}:{RabbitManagementPort}/"), RabbitUser, RabbitPassword);

    /// <summary>Waits for a condition, polling; fails with the last observed state when the time is up.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> describe)
    {
        if (!await TryWaitUntilAsync(condition, timeout))
        {
            Assert.Fail($"Condition not met within {timeout.TotalSeconds:0}s: {await describe()}");
        }
    }

    /// <summary>Waits for a condition, polling every 100 ms; false when the time is up first (for a test that goes on and decides later).</summary>
    public static async Task<bool> TryWaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }
    }
}
