using System.Text.Json;
using Npgsql;

namespace Analytics.Benchmarks;

/// <summary>
/// Fresh RabbitMQ vhosts (management API) and PostgreSQL databases for one run, all named after one random
/// run id and all deleted at the end, so nothing of the run leaks into the shared broker and server.
/// </summary>
public sealed class Isolation : IAsyncDisposable
{
    private readonly BenchSettings _settings;
    private readonly ServiceIsolation _services;
    private readonly List<string> _vhosts = [];
    private readonly List<string> _databases = [];

    public Isolation(BenchSettings settings)
    {
        _settings = settings;
        RunId = Guid.NewGuid().ToString("N")[..8];
        _services = new ServiceIsolation(settings.PostgresAdmin, settings.Management, settings.User, settings.Password);
    }

    public string RunId { get; }

    public async Task<string> CreateVhostAsync(string suffix, CancellationToken cancellationToken)
    {
        var name = $"bench-{RunId}-{suffix}";
        _vhosts.Add(name);
        await _services.CreateVhostAsync(name, new Dictionary<string, VhostPermissions> { [_settings.User] = ServiceIsolation.Everything }, cancellationToken);
        return name;
    }

    public async Task<string> CreateDatabaseAsync(string suffix, CancellationToken cancellationToken)
    {
        var name = $"bench_{RunId}_{suffix}";
        await _services.CreateDatabaseAsync(name, cancellationToken);
        _databases.Add(name);
        return name;
    }

    /// <summary>A database kept after the run (created when missing), for re-runs on one seeded store.</summary>
    public async Task<string> KeptDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        await _services.EnsureDatabaseAsync(name, cancellationToken);
        return name;
    }

    public string ConnectionString(string database, int maxPoolSize = 50) =>
        new NpgsqlConnectionStringBuilder(_settings.PostgresAdmin)
        {
            Database = database,
            MaxPoolSize = maxPoolSize,
            MaxAutoPrepare = int.Parse(Environment.GetEnvironmentVariable("BENCH_MAX_AUTO_PREPARE") ?? "100", System.Globalization.CultureInfo.InvariantCulture),
        }.ConnectionString;

    /// <summary>Consumers on a queue, as the management API reports them (its statistics lag by a few seconds); 0 when it does not exist.</summary>
    public async Task<int> ConsumersAsync(string vhost, string queue, CancellationToken cancellationToken) =>
        await _services.QueueAsync(vhost, queue, cancellationToken) is { } figures
            && figures.TryGetProperty("consumers", out var consumers) && consumers.ValueKind == JsonValueKind.Number
            ? consumers.GetInt32()
            : 0;

    /// <summary>Messages ready + unacknowledged on a queue, or null when it does not exist.</summary>
    public async Task<long?> MessagesAsync(string vhost, string queue, CancellationToken cancellationToken) =>
        await _services.QueueAsync(vhost, queue, cancellationToken) is not { } figures
            ? null
            : figures.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Number ? messages.GetInt64() : 0;

    public async ValueTask DisposeAsync()
    {
        foreach (var vhost in _vhosts)
        {
            try
            {
                var (deleted, status) = await _services.DeleteVhostAsync(vhost);
                if (!deleted)
                {
                    Console.Error.WriteLine($"Could not delete vhost {vhost}: {status}");
                }
            }
            catch (HttpRequestException ex)
            {
                Console.Error.WriteLine($"Could not delete vhost {vhost}: {ex.Message}");
            }
        }

        foreach (var database in _databases)
        {
            try
            {
                await _services.DropDatabaseAsync(database);
            }
            catch (NpgsqlException ex)
            {
                Console.Error.WriteLine($"Could not drop database {database}: {ex.Message}");
            }
        }

        _services.Dispose();
    }
}
