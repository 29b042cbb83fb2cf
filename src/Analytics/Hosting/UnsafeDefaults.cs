using Analytics.Access;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Analytics.Hosting;

/// <summary>
/// Development defaults that must not reach a deployment (docs/security.md, "Production checklist"). Outside the
/// Development environment the API and the worker refuse to start while any is configured, and the error names the
/// setting: a README API key, an API key shorter than 32 characters, a PostgreSQL or RabbitMQ password of the local
/// scripts, the user-id pseudonymization key at its development value (or shorter than 32 characters).
/// </summary>
public static class UnsafeDefaults
{
    public const int MinimumSecretLength = 32;

    /// <summary>The user-id HMAC key shipped in the worker's appsettings.json for local runs.</summary>
    public const string DevelopmentUserIdKey = "local-dev-user-id-key-not-for-production";

    /// <summary>The passwords of infra/scripts/services-env.sh, docker-compose.yml and the servers' own defaults.</summary>
    public static readonly IReadOnlySet<string> DevelopmentPasswords = new HashSet<string>(StringComparer.Ordinal)
    {
        "", "analytics", "analytics_app", "analytics_worker", "analytics_publisher", "guest", "postgres", "password", "admin",
    };

    /// <summary>Each unsafe setting found, as "setting: reason"; empty when the configuration is fit to deploy.</summary>
    public static IReadOnlyList<string> Find(IConfiguration configuration, bool needsUserIdKey = false)
    {
        var problems = new List<string>();
        if (configuration.GetSection(ApiKeyStore.Section).Exists())
        {
            var published = ApiKeyStore.PublishedDevelopmentKeys.Select(ApiKeyStore.Hash).ToList();
            foreach (var entry in ApiKeyStore.FromConfiguration(configuration).Entries)
            {
                var name = $"{ApiKeyStore.Section}:{entry.Id}";
                if (published.Any(hash => hash.AsSpan().SequenceEqual(entry.Sha256)))
                {
                    problems.Add($"{name}: is a development key published in the README; make a new one with `Analytics.Api new-key`.");
                }
                else if (entry.PlainLength is < MinimumSecretLength)
                {
                    problems.Add($"{name}:Key: is shorter than {MinimumSecretLength} characters.");
                }
            }
        }

        if (configuration.GetConnectionString("Marten") is { Length: > 0 } marten)
        {
            var password = new NpgsqlConnectionStringBuilder(marten).Password ?? string.Empty;
            if (DevelopmentPasswords.Contains(password))
            {
                problems.Add("ConnectionStrings:Marten: uses a development PostgreSQL password.");
            }
        }

        if (configuration["EventStore:OwnerPassword"] is { } ownerPassword && DevelopmentPasswords.Contains(ownerPassword))
        {
            problems.Add("EventStore:OwnerPassword: is a development PostgreSQL password.");
        }

        if (configuration["RabbitMq:Uri"] is { Length: > 0 } rabbit && Uri.TryCreate(rabbit, UriKind.Absolute, out var uri))
        {
            var userInfo = Uri.UnescapeDataString(uri.UserInfo);
            var password = userInfo.Contains(':', StringComparison.Ordinal) ? userInfo[(userInfo.IndexOf(':', StringComparison.Ordinal) + 1)..] : "guest";
            if (DevelopmentPasswords.Contains(password))
            {
                problems.Add("RabbitMq:Uri: uses a development RabbitMQ password.");
            }
        }

        if (configuration["Privacy:UserIdKey"] is { } || needsUserIdKey)
        {
            var key = configuration["Privacy:UserIdKey"] ?? string.Empty;
            if (key == DevelopmentUserIdKey)
            {
                problems.Add("Privacy:UserIdKey: is the development value; set a random secret of at least 32 characters.");
            }
            else if (key.Length < MinimumSecretLength)
            {
                problems.Add($"Privacy:UserIdKey: is shorter than {MinimumSecretLength} characters.");
            }
        }

        return problems;
    }

    /// <summary>Outside Development, stop the host before anything starts when <see cref="Find"/> reports a setting.</summary>
    public static IServiceCollection AddUnsafeDefaultsRefusal(this IServiceCollection services, IConfiguration configuration, bool needsUserIdKey = false)
    {
        services.AddHostedService(provider => new Refusal(configuration, needsUserIdKey, provider.GetRequiredService<IHostEnvironment>()));
        return services;
    }

    private sealed class Refusal(IConfiguration configuration, bool needsUserIdKey, IHostEnvironment environment) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken)
        {
            if (!environment.IsDevelopment() && Find(configuration, needsUserIdKey) is { Count: > 0 } problems)
            {
                throw new InvalidOperationException(
                    $"Refusing to start in the {environment.EnvironmentName} environment with development defaults (docs/security.md, \"Production checklist\"):"
                    + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  " + p)));
            }

            return Task.CompletedTask;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
