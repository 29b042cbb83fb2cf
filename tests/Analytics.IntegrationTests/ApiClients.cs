using Analytics.Access;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>HTTP clients with the local development API keys of src/Analytics.Api/appsettings.json.</summary>
public static class ApiClients
{
    /// <summary>
    /// The API host (src/Analytics.Api, in memory) on the platform's database, serving as the application role
    /// (it applies the schema as the owner at startup, so a test may use it before any worker ran).
    /// </summary>
    public static WebApplicationFactory<Program> For(TestPlatform platform) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(host => UsePlatform(host, platform));

    public static IWebHostBuilder UsePlatform(IWebHostBuilder host, TestPlatform platform)
    {
        foreach (var (key, value) in platform.HostSettings)
        {
            host.UseSetting(key, value);
        }

        return host;
    }

    public static HttpClient Viewer(WebApplicationFactory<Program> api) => WithKey(api, "local-dev-viewer-key");

    public static HttpClient WithKey(WebApplicationFactory<Program> api, string key)
    {
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Add(ApiKeyAuthentication.HeaderName, key);
        return client;
    }
}
