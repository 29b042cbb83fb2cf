using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Analytics.IntegrationTests;

namespace Analytics.FaultTests;

/// <summary>
/// A PostgreSQL server and a RabbitMQ node of the fault suite's own, started with the project's scripts
/// (infra/scripts/services-up.sh) on loopback ports of their own and with their own state folder
/// (&lt;repo&gt;/.local/faults), so that restarting them never disturbs the integration tests running in parallel
/// on the shared servers. Ports: ANALYTICS_FAULT_PORT_BASE (+0 PostgreSQL, +1 AMQP, +2 management, +3 Erlang
/// distribution, +4 Prometheus, +5 epmd); by default derived from the checkout's path (the next free block of six
/// if taken), so two checkouts on one machine pick different ports. Stopped with services-down.sh when the suite ends.
/// </summary>
public sealed class DedicatedServices : IAsyncLifetime
{
    private Dictionary<string, string> _environment = [];

    public DedicatedServices()
    {
        Root = TestEnvironment.RepositoryRoot();
        StateDirectory = Environment.GetEnvironmentVariable("ANALYTICS_FAULT_STATE_DIR") ?? Path.Combine(Root, ".local", "faults");
    }

    public string Root { get; }

    public string StateDirectory { get; }

    public int PostgresPort { get; private set; }

    public int RabbitPort { get; private set; }

    public int ManagementPort { get; private set; }

    public async Task InitializeAsync()
    {
        // Servers left by an interrupted earlier run (their ports are remembered) are stopped first.
        var remembered = Path.Combine(StateDirectory, "port-base");
        if (File.Exists(remembered) && int.TryParse(File.ReadAllText(remembered), out var earlier))
        {
            UsePorts(earlier);
            await RunScriptAsync("services-down.sh", TimeSpan.FromMinutes(2));
        }

        // Below Linux's ephemeral range (32768+), so that no outgoing connection holds one of them.
        var portBase = int.TryParse(Environment.GetEnvironmentVariable("ANALYTICS_FAULT_PORT_BASE"), out var configured)
            ? configured
            : FreePortBase(20_000 + (int)(StableHash(Root) % 1_200) * 10);
        Directory.CreateDirectory(StateDirectory);
        await File.WriteAllTextAsync(remembered, $"{portBase}");
        UsePorts(portBase);
        await RunScriptAsync("services-up.sh", TimeSpan.FromMinutes(10)); // a timeout, not a delay: starting both servers took over 4 minutes on a loaded 2-core machine
        // TestPlatform and WorkerProcess read where the servers are from these variables (this test process only).
        Environment.SetEnvironmentVariable("ANALYTICS_TEST_PG",
            $"Host=127.0.0.1;Port={PostgresPort};Database=analytics;Username=analytics;Password=analytics");
        Environment.SetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_HOST", "127.0.0.1");
        Environment.SetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_PORT", $"{RabbitPort}");
        Environment.SetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_MANAGEMENT_PORT", $"{ManagementPort}");
        Environment.SetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_USER", "analytics");
        Environment.SetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_PASSWORD", "analytics");
    }

    public async Task DisposeAsync() => await RunScriptAsync("services-down.sh", TimeSpan.FromMinutes(2));

    private void UsePorts(int portBase)
    {
        PostgresPort = portBase;
        RabbitPort = portBase + 1;
        ManagementPort = portBase + 2;
        _environment = new Dictionary<string, string>
        {
            ["ANALYTICS_SERVICES_MODE"] = "native",
            ["ANALYTICS_PROMETHEUS"] = "0", // no Prometheus server for these throwaway servers
            ["ANALYTICS_STATE_DIR"] = StateDirectory,
            ["PG_PORT"] = $"{PostgresPort}",
            ["RABBITMQ_PORT"] = $"{RabbitPort}",
            ["RABBITMQ_MANAGEMENT_PORT"] = $"{ManagementPort}",
            ["RABBITMQ_DIST_PORT"] = $"{portBase + 3}",
            ["RABBITMQ_PROMETHEUS_PORT"] = $"{portBase + 4}",
            ["ERL_EPMD_PORT"] = $"{portBase + 5}",
            ["RABBITMQ_NODENAME"] = $"faults{portBase}@localhost",
        };
    }

    /// <summary>infra/scripts/services-restart.sh postgres|rabbitmq against these servers.</summary>
    public Task<string> RestartAsync(string service) => RunScriptAsync("services-restart.sh", TimeSpan.FromMinutes(2), service);

    private Task<string> RunScriptAsync(string script, TimeSpan timeout, params string[] arguments) =>
        ChildProcess.RunToEndAsync(Path.Combine(Root, "infra", "scripts", script), arguments, Root, _environment, timeout);

    private static uint StableHash(string text)
    {
        var hash = 2166136261u; // FNV-1a: the same for the same path in every run
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    /// <summary>The first base from <paramref name="preferred"/> (steps of 10) whose six ports are all free.</summary>
    private static int FreePortBase(int preferred)
    {
        for (var portBase = preferred; portBase < preferred + 200; portBase += 10)
        {
            if (Enumerable.Range(portBase, 6).All(IsFree))
            {
                return portBase;
            }
        }

        return preferred;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<DedicatedServices>
{
    public const string Name = "fault suite (dedicated PostgreSQL and RabbitMQ)";
}
