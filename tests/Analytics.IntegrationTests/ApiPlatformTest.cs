using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>
/// The fixture of an API test: the isolated platform of <see cref="WorkerPlatformTest"/> and the API host in memory on
/// it (<see cref="ApiClients.For"/>), created before each test and removed after it. A test class that needs another API
/// configuration overrides <see cref="CreateApi"/>; one that needs more set-up overrides <see cref="InitializeAsync"/>
/// and calls the base first.
/// </summary>
public abstract class ApiPlatformTest : WorkerPlatformTest
{
#pragma warning disable SA1401, IDE1006 // the name the test classes used before they shared this base
    protected WebApplicationFactory<Program> _api = null!;
#pragma warning restore SA1401, IDE1006

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _api = CreateApi(_platform);
    }

    public override async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await base.DisposeAsync();
    }

    protected virtual WebApplicationFactory<Program> CreateApi(TestPlatform platform) => ApiClients.For(platform);
}
