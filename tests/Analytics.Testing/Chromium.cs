namespace Analytics.Testing;

/// <summary>The Chromium that the page tests and the console benchmark drive through Playwright.</summary>
public static class Chromium
{
    /// <summary>Debian's Chromium (apt-get install chromium; infra/scripts/run-tests.sh installs it), or ANALYTICS_TEST_CHROMIUM.</summary>
    public static string Path => Environment.GetEnvironmentVariable("ANALYTICS_TEST_CHROMIUM") ?? "/usr/bin/chromium";
}
