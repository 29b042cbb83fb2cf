namespace Analytics.IntegrationTests;

/// <summary>
/// The fixture of a test that runs the real worker: an isolated platform (its own database and vhost,
/// <see cref="TestPlatform"/>), created before each test and removed after it with every worker the test started on it
/// (<see cref="TestPlatform.StartWorkerAsync"/>). A test class that needs more set-up overrides
/// <see cref="InitializeAsync"/> and calls the base first; <see cref="ApiPlatformTest"/> adds the API host.
/// </summary>
public abstract class WorkerPlatformTest : IAsyncLifetime
{
#pragma warning disable SA1401, IDE1006 // the name the test classes used before they shared this base
    protected TestPlatform _platform = null!;
#pragma warning restore SA1401, IDE1006

    public virtual async Task InitializeAsync() => _platform = await TestPlatform.CreateAsync();

    public virtual async Task DisposeAsync() => await _platform.DisposeAsync();
}
