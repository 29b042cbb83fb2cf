using System.Diagnostics;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Analytics.IntegrationTests;

/// <summary>
/// The pipeline-health alerting rules (infra/prometheus/alerts.yml): their promtool unit tests pass, Prometheus' config
/// loads them, and each has a Grafana twin, a unit test and a runbook section in docs/operations.md.
/// </summary>
public sealed partial class PipelineAlertRulesTests
{
    private static string Root => TestEnvironment.RepositoryRoot();

    [Fact]
    public async Task The_promtool_unit_tests_of_the_alerting_rules_pass()
    {
        var (exitCode, output) = await Promtool.RunAsync("test", "rules", Path.Combine(Root, "infra", "prometheus", "alerts.test.yml"));
        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Prometheus_config_loads_the_alerting_rules()
    {
        var (exitCode, output) = await Promtool.RunAsync("check", "config", Path.Combine(Root, "infra", "prometheus", "prometheus.yml"));
        Assert.True(exitCode == 0, output);
        Assert.Contains("1 rule files found", output, StringComparison.Ordinal);
        Assert.Matches($"SUCCESS: {AlertNames().Count} rules found", output);
    }

    [Fact]
    public void Every_alert_has_a_promtool_test_a_Grafana_rule_with_the_same_query_and_a_runbook_section()
    {
        var tested = File.ReadAllText(Path.Combine(Root, "infra", "prometheus", "alerts.test.yml"));
        var grafana = DashboardFiles.AlertRules().Where(r => r.File == "pipeline-health.json").Select(r => r.Rule).ToList();
        var operations = File.ReadAllText(Path.Combine(Root, "docs", "operations.md"));
        foreach (var (name, expr, duration) in AlertNames())
        {
            Assert.Contains($"alertname: {name}", tested, StringComparison.Ordinal);
            var twin = grafana.SingleOrDefault(r => (string?)r["labels"]?["alertname"] == name);
            Assert.True(twin is not null, $"no Grafana rule for {name}");
            Assert.Equal(duration, (string?)twin["for"]);
            var query = (string)twin["data"]![0]!["model"]!["expr"]!;
            if (name != "AnalyticsWorkerDown") // Grafana's threshold needs a positive value: 1 - up
            {
                Assert.Equal(Normalize(expr), Normalize(query));
            }

            // Its runbook: a section of docs/operations.md (the anchor of a "### Name" heading), and the alert in its table.
            var runbook = RunbookOf(name);
            Assert.StartsWith("docs/operations.md#", runbook, StringComparison.Ordinal);
            Assert.Contains(operations.Split('\n'), line => line.StartsWith("### ", StringComparison.Ordinal)
                && line[4..].Trim().ToLowerInvariant() == runbook["docs/operations.md#".Length..]);
            Assert.Contains($"`{name}`", operations, StringComparison.Ordinal);
        }

        Assert.Equal(AlertNames().Count, grafana.Count);
    }

    [Fact]
    public void Grafana_rules_link_a_dashboard_panel_that_exists_or_none()
    {
        // Grafana refuses a file-provisioned rule that names a dashboard without a panel.
        var dashboards = DashboardFiles.Load().ToDictionary(d => (string)d.Json["uid"]!, d => d.Json);
        foreach (var (file, rule) in DashboardFiles.AlertRules())
        {
            var dashboardUid = (string?)rule["annotations"]?["__dashboardUid__"];
            var panelId = (string?)rule["annotations"]?["__panelId__"];
            Assert.True((dashboardUid is null) == (panelId is null), $"{file} / {rule["title"]}: __dashboardUid__ and __panelId__ go together");
            if (dashboardUid is not null)
            {
                Assert.True(dashboards.ContainsKey(dashboardUid), $"{file} / {rule["title"]}: no dashboard {dashboardUid}");
                Assert.Contains(DashboardFiles.Panels(dashboards[dashboardUid]), p => p["id"]?.ToString() == panelId);
            }
        }
    }

    private static List<(string Name, string Expr, string For)> AlertNames()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Root, "infra", "prometheus", "alerts.yml")))
        {
            yaml.Load(reader);
        }

        var groups = (YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["groups"];
        return groups.Cast<YamlMappingNode>()
            .SelectMany(g => ((YamlSequenceNode)g["rules"]).Cast<YamlMappingNode>())
            .Select(r => (((YamlScalarNode)r["alert"]).Value!, ((YamlScalarNode)r["expr"]).Value!,
                r.Children.TryGetValue(new YamlScalarNode("for"), out var f) ? ((YamlScalarNode)f).Value! : "0s"))
            .ToList();
    }

    private static string RunbookOf(string alert)
    {
        var text = File.ReadAllText(Path.Combine(Root, "infra", "prometheus", "alerts.yml"));
        var at = text.IndexOf($"alert: {alert}\n", StringComparison.Ordinal);
        var match = Runbook().Match(text, at);
        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"runbook: (\S+)")]
    private static partial Regex Runbook();

    private static string Normalize(string expr) => Whitespace().Replace(expr, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}

/// <summary>Debian's promtool (package prometheus; run-tests.sh installs it).</summary>
public static class Promtool
{
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        var path = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("promtool not found: apt-get install prometheus (run-tests.sh does)");
        var start = new ProcessStartInfo(path, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
