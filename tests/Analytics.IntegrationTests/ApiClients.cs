using Analytics.Access;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>HTTP clients with the local development API keys of src/Analytics.Api/appsettings.json.</summary>
public static class ApiClients
{
    /// <summary>The API host (src/Analytics.Api, in memory) on the platform's database.</summary>
    public static WebApplicationFactory<Program> For(TestPlatform platform) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(host => host.UseSetting("ConnectionStrings:Marten", platform.ConnectionString));

    public static HttpClient Viewer(WebApplicationFactory<Program> api) => WithKey(api, "local-dev-viewer-key");

    public static HttpClient WithKey(WebApplicationFactory<Program> api, string key)
    {
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Add(ApiKeyAuthentication.HeaderName, key);
        return client;
    }
}
