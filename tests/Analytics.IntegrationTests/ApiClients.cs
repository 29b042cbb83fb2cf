using Analytics.Access;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

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

    /// <summary>
    /// Starts the API on Kestrel (a real socket: Kestrel's size limits apply, a browser can connect) on loopback port 0,
    /// and returns the address the system bound: no probe-then-bind race for a free port. The factory's builder must
    /// set Urls to <see cref="AnyLoopbackPort"/>.
    /// </summary>
    public static Uri StartOnKestrel(WebApplicationFactory<Program> api)
    {
        api.UseKestrel();
        api.StartServer();
        var address = api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var uri = new Uri(address);
        Assert.NotEqual(0, uri.Port);
        return uri;
    }

    public const string AnyLoopbackPort = "http://127.0.0.1:0";
}
