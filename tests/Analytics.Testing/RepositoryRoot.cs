namespace Analytics.Testing;

/// <summary>The checkout the tests and benchmarks run from: the nearest folder above them that holds Analytics.sln.</summary>
public static class RepositoryRoot
{
    /// <summary>Searches upwards from the binaries, then from the current directory.</summary>
    public static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Analytics.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new InvalidOperationException("Analytics.sln not found above the binaries or the current directory: run from inside the repository");
    }
}
