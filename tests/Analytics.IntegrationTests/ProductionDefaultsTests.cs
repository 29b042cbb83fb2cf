using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Access;
using Analytics.Api;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>
/// Outside Development the hosts refuse development defaults, naming the setting; `new-key` makes a key that works and
/// whose owner is the caller's name (docs/security.md, "API keys", "Production checklist").
/// </summary>
public sealed partial class ProductionDefaultsTests
{
    [Fact]
    public void The_api_refuses_to_start_in_Production_with_a_README_key_and_names_the_settings()
    {
        using var api = new WebApplicationFactory<Program>().WithWebHostBuilder(host => host
            .UseEnvironment("Production")
            .UseSetting("Auth:ApiKeys:readme:Owner", "someone")
            .UseSetting("Auth:ApiKeys:readme:Role", "admin")
            .UseSetting("Auth:ApiKeys:readme:Key", "local-dev-admin-key"));
        var error = Assert.ThrowsAny<Exception>(() => api.CreateClient());
        var message = error.ToString();
        Assert.Contains("Refusing to start in the Production environment", message, StringComparison.Ordinal);
        Assert.Contains("Auth:ApiKeys:readme: is a development key published in the README", message, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings:Marten: uses a development PostgreSQL password", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_worker_refuses_to_start_in_Production_with_development_passwords_and_names_them()
    {
        await using var platform = await TestPlatform.CreateAsync();
        await using var worker = WorkerProcess.Start(platform.AppConnectionString, platform.WorkerAmqpUri,
            new Dictionary<string, string> { ["DOTNET_ENVIRONMENT"] = "Production" });
        Assert.NotEqual(0, await worker.ExitCodeAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("ConnectionStrings:Marten: uses a development PostgreSQL password", worker.Output, StringComparison.Ordinal);
        Assert.Contains("RabbitMq:Uri: uses a development RabbitMQ password", worker.Output, StringComparison.Ordinal);
        Assert.Contains("Privacy:UserIdKey: is the development value", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_made_by_new_key_authenticates_once_configured_and_the_owner_is_the_callers_name()
    {
        var output = new StringWriter();
        Assert.True(NewKeyCommand.TryRun(["new-key", "--owner", "Dana Reyes", "--role", "triager"], output, out var exit));
        Assert.Equal(0, exit);
        var printed = output.ToString();
        var key = KeyLine().Match(printed).Groups[1].Value;
        Assert.True(key.Length >= 32, printed);
        var settings = EnvironmentLine().Matches(printed).ToDictionary(m => m.Groups[1].Value.Replace("__", ":", StringComparison.Ordinal), m => m.Groups[2].Value);
        Assert.Equal(3, settings.Count);
        Assert.DoesNotContain(settings.Values, value => value.Contains(key, StringComparison.Ordinal)); // only the hash is stored

        await using var platform = await TestPlatform.CreateAsync();
        await using var api = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            ApiClients.UsePlatform(host, platform);
            foreach (var (name, value) in settings)
            {
                host.UseSetting(name, value);
            }
        });
        using var client = ApiClients.WithKey(api, key);
        var me = await client.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("Dana Reyes", me.GetProperty("name").GetString());
        Assert.Equal("triager", me.GetProperty("role").GetString());
        using var wrong = ApiClients.WithKey(api, key[..^1] + (key[^1] == 'A' ? 'B' : 'A'));
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/api/me")).StatusCode);
    }

    [Fact]
    public void New_key_refuses_an_unknown_role()
    {
        var output = new StringWriter();
        Assert.True(NewKeyCommand.TryRun(["new-key", "--owner", "x", "--role", "root"], output, out var exit));
        Assert.Equal(2, exit);
        Assert.StartsWith("usage:", output.ToString(), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^  ([A-Za-z0-9_-]{32,})\r?$", RegexOptions.Multiline)]
    private static partial Regex KeyLine();

    [GeneratedRegex(@"^  (Auth__ApiKeys__[^=]+)=(.+?)\r?$", RegexOptions.Multiline)]
    private static partial Regex EnvironmentLine();
}
