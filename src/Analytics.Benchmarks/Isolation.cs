using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
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
    private readonly HttpClient _http;
    private readonly List<string> _vhosts = [];
    private readonly List<string> _databases = [];

    public Isolation(BenchSettings settings)
    {
        _settings = settings;
        RunId = Guid.NewGuid().ToString("N")[..8];
        _http = new HttpClient { BaseAddress = settings.Management, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.User}:{settings.Password}")));
    }

    public string RunId { get; }

    public async Task<string> CreateVhostAsync(string suffix, CancellationToken cancellationToken)
    {
        var name = $"bench-{RunId}-{suffix}";
        var escaped = Uri.EscapeDataString(name);
        using (var response = await _http.PutAsJsonAsync($"api/vhosts/{escaped}", new { description = "Analytics.Benchmarks run" }, cancellationToken))
        {
            response.EnsureSuccessStatusCode();
        }

        _vhosts.Add(name);
        using (var response = await _http.PutAsJsonAsync($"api/permissions/{escaped}/{Uri.EscapeDataString(_settings.User)}",
            new { configure = ".*", write = ".*", read = ".*" }, cancellationToken))
        {
            response.EnsureSuccessStatusCode();
        }

        return name;
    }

    public async Task<string> CreateDatabaseAsync(string suffix, CancellationToken cancellationToken)
    {
        var name = $"bench_{RunId}_{suffix}";
        await using var connection = new NpgsqlConnection(_settings.PostgresAdmin);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"create database \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        _databases.Add(name);
        return name;
    }

    /// <summary>A database kept after the run (created when missing), for re-runs on one seeded store.</summary>
    public async Task<string> KeptDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_settings.PostgresAdmin);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("select count(*) from pg_database where datname = $1", connection)
        {
            Parameters = { new() { Value = name } },
        };
        if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
        {
            await using var create = new NpgsqlCommand($"create database \"{name}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        return name;
    }

    public string ConnectionString(string database, int maxPoolSize = 50) =>
        new NpgsqlConnectionStringBuilder(_settings.PostgresAdmin)
        {
            Database = database,
            MaxPoolSize = maxPoolSize,
            MaxAutoPrepare = int.Parse(Environment.GetEnvironmentVariable("BENCH_MAX_AUTO_PREPARE") ?? "100", System.Globalization.CultureInfo.InvariantCulture),
        }.ConnectionString;

    /// <summary>Consumers on a queue, as the management API reports them (its statistics lag by a few seconds).</summary>
    public async Task<int> ConsumersAsync(string vhost, string queue, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"api/queues/{Uri.EscapeDataString(vhost)}/{Uri.EscapeDataString(queue)}", cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return 0;
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return document.RootElement.TryGetProperty("consumers", out var consumers) && consumers.ValueKind == JsonValueKind.Number
            ? consumers.GetInt32()
            : 0;
    }

    /// <summary>Messages ready + unacknowledged on a queue, or null when it does not exist.</summary>
    public async Task<long?> MessagesAsync(string vhost, string queue, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"api/queues/{Uri.EscapeDataString(vhost)}/{Uri.EscapeDataString(queue)}", cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return document.RootElement.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Number
            ? messages.GetInt64()
            : 0;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var vhost in _vhosts)
        {
            try
            {
                using var response = await _http.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(vhost)}");
                if (!response.IsSuccessStatusCode)
                {
                    Console.Error.WriteLine($"Could not delete vhost {vhost}: {(int)response.StatusCode}");
                }
            }
            catch (HttpRequestException ex)
            {
                Console.Error.WriteLine($"Could not delete vhost {vhost}: {ex.Message}");
            }
        }

        NpgsqlConnection.ClearAllPools();
        foreach (var database in _databases)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_settings.PostgresAdmin);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand($"drop database if exists \"{database}\" with (force)", connection);
                await command.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException ex)
            {
                Console.Error.WriteLine($"Could not drop database {database}: {ex.Message}");
            }
        }

        _http.Dispose();
    }
}
