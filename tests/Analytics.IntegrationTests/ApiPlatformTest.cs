using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>
/// The fixture of an API test: an isolated platform (its own database and vhost, <see cref="TestPlatform"/>) and the
/// API host in memory on it (<see cref="ApiClients.For"/>), created before each test and removed after it. A test class
/// that needs another API configuration overrides <see cref="CreateApi"/>; one that needs more set-up overrides
/// <see cref="InitializeAsync"/> and calls the base first.
/// </summary>
public abstract class ApiPlatformTest : IAsyncLifetime
{
#pragma warning disable SA1401, IDE1006 // the names the test classes used before they shared this base
    protected TestPlatform _platform = null!;
    protected WebApplicationFactory<Program> _api = null!;
#pragma warning restore SA1401, IDE1006

    public virtual async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _api = CreateApi(_platform);
    }

    public virtual async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _platform.DisposeAsync();
    }

    protected virtual WebApplicationFactory<Program> CreateApi(TestPlatform platform) => ApiClients.For(platform);
}
