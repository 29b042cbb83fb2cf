namespace Analytics.Benchmarks;

/// <summary>The real API (src/Analytics.Api, Release build) as a child process (<see cref="ChildProcess"/>) on a port it binds itself.</summary>
public sealed class ApiProcess : IAsyncDisposable
{
    private const string Project = "Analytics.Api";
    private readonly ChildProcess _process;

    private ApiProcess(ChildProcess process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string? LogPath => _process.LogPath;

    public int Pid => _process.Pid;

    public static Task BuildAsync(string repositoryRoot, CancellationToken cancellationToken) =>
        ChildProcess.BuildAsync(repositoryRoot, Project, "Release", cancellationToken);

    /// <summary>Starts the API and waits (up to 2 minutes) until /health answers; disposing it sends SIGTERM, then SIGKILL after 15 s.</summary>
    public static async Task<ApiProcess> StartAsync(string repositoryRoot, string connectionString, string logPath, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Marten"] = connectionString,
            ["Urls"] = "http://127.0.0.1:0",
            ["ASPNETCORE_ENVIRONMENT"] = "Development", // the README keys and local passwords (docs/security.md)
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information", // "Now listening on: <bound address>"
            // The benchmark measures query latency with 8 closed-loop clients from one address: the per-client rate
            // limit (600 requests per 10 s, RequestLimits) would answer most of them with 429.
            ["RequestLimits__PermitsPerWindow"] = "1000000",
        };
        var process = ChildProcess.Start(repositoryRoot, Project, "Release", environment, logPath, gracefulStop: TimeSpan.FromSeconds(15));
        try
        {
            return new ApiProcess(process, await process.WaitUntilHealthyAsync(TimeSpan.FromMinutes(2), cancellationToken));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
