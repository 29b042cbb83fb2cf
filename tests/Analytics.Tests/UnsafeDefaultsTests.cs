using Analytics.Access;
using Analytics.Hosting;
using Microsoft.Extensions.Configuration;

namespace Analytics.Tests;

/// <summary>The development defaults a deployment must not keep (docs/security.md, "Production checklist").</summary>
public class UnsafeDefaultsTests
{
    private static readonly string Root = ContractSchemaTests.RepositoryRoot();

    private static IConfiguration Shipped(string project, bool development)
    {
        var builder = new ConfigurationBuilder().AddJsonFile(Path.Combine(Root, "src", project, "appsettings.json"));
        return (development ? builder.AddJsonFile(Path.Combine(Root, "src", project, "appsettings.Development.json")) : builder).Build();
    }

    private static IConfiguration Settings(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static readonly string StrongKey = ApiKeyStore.NewKey();

    private static Dictionary<string, string?> Safe() => new()
    {
        ["ConnectionStrings:Marten"] = "Host=db;Username=analytics_app;Password=" + ApiKeyStore.NewKey(),
        ["EventStore:OwnerPassword"] = ApiKeyStore.NewKey(),
        ["RabbitMq:Uri"] = $"amqp://analytics_worker:{ApiKeyStore.NewKey()}@mq:5672/analytics",
        ["Privacy:UserIdKey"] = ApiKeyStore.NewKey(),
        ["Auth:ApiKeys:ops:Owner"] = "ops",
        ["Auth:ApiKeys:ops:Role"] = "admin",
        ["Auth:ApiKeys:ops:Sha256"] = ApiKeyStore.HashHex(StrongKey),
    };

    [Fact]
    public void The_shipped_base_settings_hold_no_API_key()
    {
        var apiKeys = Shipped("Analytics.Api", development: false).GetSection(ApiKeyStore.Section);
        Assert.False(apiKeys.Exists());
    }

    [Fact]
    public void The_shipped_development_settings_are_each_named_as_unsafe()
    {
        var api = UnsafeDefaults.Find(Shipped("Analytics.Api", development: true));
        foreach (var id in new[] { "local-dev-viewer", "local-dev-triager", "local-dev-admin", "local-dev-exporter" })
        {
            Assert.Contains(api, p => p.StartsWith($"Auth:ApiKeys:{id}: is a development key published in the README", StringComparison.Ordinal));
        }

        Assert.Contains(api, p => p.StartsWith("ConnectionStrings:Marten:", StringComparison.Ordinal));

        var worker = UnsafeDefaults.Find(Shipped("Analytics.Worker", development: false));
        Assert.Contains(worker, p => p.StartsWith("ConnectionStrings:Marten:", StringComparison.Ordinal));
        Assert.Contains(worker, p => p.StartsWith("EventStore:OwnerPassword:", StringComparison.Ordinal));
        Assert.Contains(worker, p => p.StartsWith("RabbitMq:Uri:", StringComparison.Ordinal));
        Assert.Contains(worker, p => p.StartsWith("Privacy:UserIdKey: is the development value", StringComparison.Ordinal));
    }

    [Fact]
    public void Settings_without_development_defaults_pass()
    {
        Assert.Empty(UnsafeDefaults.Find(Settings(Safe())));
    }

    [Theory]
    [InlineData("Auth:ApiKeys:short:Key", "Auth:ApiKeys:short:Key: is shorter than 32")]
    [InlineData("Auth:ApiKeys:readme:Key", "Auth:ApiKeys:readme: is a development key published in the README")]
    [InlineData("ConnectionStrings:Marten", "ConnectionStrings:Marten: uses a development PostgreSQL password")]
    [InlineData("EventStore:OwnerPassword", "EventStore:OwnerPassword: is a development PostgreSQL password")]
    [InlineData("RabbitMq:Uri", "RabbitMq:Uri: uses a development RabbitMQ password")]
    [InlineData("Privacy:UserIdKey", "Privacy:UserIdKey: is the development value")]
    [InlineData("Privacy:UserIdKey:short", "Privacy:UserIdKey: is shorter than 32")]
    public void Each_unsafe_setting_is_named(string setting, string expected)
    {
        var values = Safe();
        switch (setting)
        {
            case "Auth:ApiKeys:short:Key":
                values["Auth:ApiKeys:short:Owner"] = "someone";
                values["Auth:ApiKeys:short:Role"] = "viewer";
                values[setting] = "only-twenty-chars-xx";
                break;
            case "Auth:ApiKeys:readme:Key":
                values["Auth:ApiKeys:readme:Owner"] = "someone";
                values["Auth:ApiKeys:readme:Role"] = "admin";
                values[setting] = "local-dev-admin-key";
                break;
            case "ConnectionStrings:Marten":
                values[setting] = "Host=db;Username=analytics_app;Password=analytics_app";
                break;
            case "EventStore:OwnerPassword":
                values[setting] = "analytics";
                break;
            case "RabbitMq:Uri":
                values[setting] = "amqp://analytics_worker:analytics_worker@mq:5672/analytics";
                break;
            case "Privacy:UserIdKey":
                values[setting] = UnsafeDefaults.DevelopmentUserIdKey;
                break;
            default:
                values["Privacy:UserIdKey"] = "too-short";
                break;
        }

        var problem = Assert.Single(UnsafeDefaults.Find(Settings(values)));
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_is_found_by_its_hash_with_its_owner_and_role_and_a_wrong_key_is_not()
    {
        var store = ApiKeyStore.FromConfiguration(Settings(Safe()));
        var entry = store.Find(StrongKey);
        Assert.NotNull(entry);
        Assert.Equal(("ops", "ops", "admin"), (entry.Id, entry.Owner, entry.Role));
        Assert.Null(store.Find(StrongKey[..^1]));
        Assert.Null(store.Find(ApiKeyStore.HashHex(StrongKey))); // the stored hash is not a key
    }

    [Fact]
    public void A_plain_key_to_role_entry_is_refused_naming_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            ApiKeyStore.FromConfiguration(Settings(new() { ["Auth:ApiKeys:local-dev-viewer-key"] = "viewer" })));
        Assert.Contains("Auth:ApiKeys:local-dev-viewer-key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void New_keys_are_long_and_different()
    {
        var keys = Enumerable.Range(0, 20).Select(_ => ApiKeyStore.NewKey()).ToList();
        Assert.All(keys, key => Assert.True(key.Length >= UnsafeDefaults.MinimumSecretLength));
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
    }
}
