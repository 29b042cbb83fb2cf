using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Analytics.Testing;

/// <summary>
/// A database of its own on the shared PostgreSQL server and a virtual host of its own on the shared RabbitMQ node,
/// for one test or one benchmark run: created on demand, removed at the end, so that several checkouts share the
/// servers without seeing each other. The RabbitMQ management API is reached as its administrator.
/// </summary>
public sealed class ServiceIsolation : IDisposable
{
    private readonly string _postgresAdmin;
    private readonly HttpClient _management;

    /// <param name="postgresAdmin">A connection string for a role that may CREATE DATABASE.</param>
    /// <param name="management">The management API's root, e.g. http://127.0.0.1:15672/.</param>
    public ServiceIsolation(string postgresAdmin, Uri management, string user, string password)
    {
        _postgresAdmin = postgresAdmin;
        _management = new HttpClient { BaseAddress = new Uri(management, "api/"), Timeout = TimeSpan.FromSeconds(30) };
        _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
    }

    /// <summary>Configure, write and read on everything in the vhost.</summary>
    public static readonly VhostPermissions Everything = new(".*", ".*", ".*");

    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(_postgresAdmin);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"create database \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Creates the database unless it exists (a store kept between runs).</summary>
    public async Task EnsureDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(_postgresAdmin);
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
    }

    /// <summary>
    /// Drops the database, closing its connections. An autovacuum worker in it cannot be terminated by a non-superuser
    /// (42501): that is retried for up to 30 s, until it is done.
    /// </summary>
    public async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(_postgresAdmin);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"drop database if exists \"{name}\" with (force)", admin);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await drop.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Creates the vhost and gives each user its permissions in it.</summary>
    public async Task CreateVhostAsync(string name, IReadOnlyDictionary<string, VhostPermissions> permissions, CancellationToken cancellationToken = default)
    {
        using (var response = await _management.PutAsJsonAsync($"vhosts/{Uri.EscapeDataString(name)}", new { description = "Analytics test or benchmark run" }, cancellationToken))
        {
            response.EnsureSuccessStatusCode();
        }

        foreach (var (user, permission) in permissions)
        {
            using var response = await _management.PutAsJsonAsync($"permissions/{Uri.EscapeDataString(name)}/{Uri.EscapeDataString(user)}",
                new { configure = permission.Configure, write = permission.Write, read = permission.Read }, cancellationToken);
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Deletes the vhost with everything in it; false (and the status) when the broker refused.</summary>
    public async Task<(bool Deleted, string Status)> DeleteVhostAsync(string name)
    {
        using var response = await _management.DeleteAsync($"vhosts/{Uri.EscapeDataString(name)}");
        return (response.IsSuccessStatusCode, $"{(int)response.StatusCode}");
    }

    /// <summary>A queue's figures from the management API (sampled every few seconds), null when it does not exist.</summary>
    public async Task<JsonElement?> QueueAsync(string vhost, string queue, CancellationToken cancellationToken = default)
    {
        using var response = await _management.GetAsync($"queues/{Uri.EscapeDataString(vhost)}/{Uri.EscapeDataString(queue)}", cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return document.RootElement.Clone();
    }

    public void Dispose() => _management.Dispose();
}

/// <summary>A RabbitMQ user's permissions in one vhost: regular expressions of the resources it may configure, write and read.</summary>
public sealed record VhostPermissions(string Configure, string Write, string Read);
