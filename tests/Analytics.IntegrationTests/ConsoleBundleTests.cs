using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Analytics.IntegrationTests;

/// <summary>
/// The console's built files (src/Analytics.Api/wwwroot) are committed beside their sources (src/Analytics.Console).
/// These tests hold them together: the page links the exact script and stylesheet committed, and, where Node and the
/// locked npm packages are installed (src/Analytics.Console/build.sh), a fresh build equals the committed one.
/// </summary>
public sealed class ConsoleBundleTests
{
    private static string Wwwroot => Path.Combine(TestEnvironment.RepositoryRoot(), "src", "Analytics.Api", "wwwroot");

    private static string ConsoleSources => Path.Combine(TestEnvironment.RepositoryRoot(), "src", "Analytics.Console");

    [Fact]
    public void The_committed_page_links_the_committed_script_and_stylesheet_by_their_content_hash()
    {
        var html = File.ReadAllText(Path.Combine(Wwwroot, "index.html"));
        foreach (var file in new[] { "app.js", "app.css" })
        {
            var link = Regex.Match(html, $@"/console/{Regex.Escape(file)}\?v=(?<hash>[0-9a-f]{{12}})");
            Assert.True(link.Success, $"index.html does not link /console/{file}?v=<hash>");
            var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Wwwroot, "console", file))))[..12];
            Assert.True(hash == link.Groups["hash"].Value, $"index.html links {file}?v={link.Groups["hash"].Value} but the committed {file} hashes to {hash}: run src/Analytics.Console/build.sh");
        }

        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
    }

    [Fact]
    public async Task A_fresh_build_equals_the_committed_bundle_where_node_and_the_locked_packages_are_installed()
    {
        if (!File.Exists(Path.Combine(ConsoleSources, "node_modules", ".bin", "esbuild")) || FindOnPath("node") is not { } node)
        {
            // Without Node (the README's commands do not need it) the other test still holds the committed files together.
            Assert.True(File.Exists(Path.Combine(ConsoleSources, "package-lock.json")), "package-lock.json is missing");
            return;
        }

        var start = new ProcessStartInfo(node, ["build.mjs", "--check"]) { WorkingDirectory = ConsoleSources, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{await output}\n{await errors}");
        Assert.Contains("is current", await output, StringComparison.Ordinal);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
