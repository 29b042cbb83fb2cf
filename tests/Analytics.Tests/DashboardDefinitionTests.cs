using System.Text.Json.Nodes;
using Analytics.IntegrationTests;

namespace Analytics.Tests;

/// <summary>What Grafana checks when it provisions the dashboards (and what the style guide asks of them).</summary>
public sealed class DashboardDefinitionTests
{
    private static readonly string[] Expected =
        ["capability-failures.json", "comparisons.json", "model-overview.json", "pipeline-health.json", "regressions.json", "safety-triage.json"];

    [Fact]
    public void Every_dashboard_loads_with_a_unique_uid_and_title_a_null_id_utc_and_the_title_prefix()
    {
        var dashboards = DashboardFiles.Load();
        Assert.Equal(Expected, dashboards.Select(d => d.File).Order(StringComparer.Ordinal)); // every dashboard shipped, and no other
        foreach (var (file, json) in dashboards)
        {
            Assert.True(json.ContainsKey("id") && json["id"] is null, $"{file}: id must be null");
            Assert.Equal("utc", (string?)json["timezone"]);
            Assert.StartsWith("Analytics / ", (string?)json["title"]);
            Assert.Matches("^[a-z0-9-]{1,40}$", (string?)json["uid"]);
            Assert.NotEmpty(json["tags"]!.AsArray());
            Assert.Equal(Panels(json).Count(), Panels(json).Select(p => (int)p["id"]!).Distinct().Count());
        }

        Assert.Equal(dashboards.Count, dashboards.Select(d => (string?)d.Json["uid"]).Distinct().Count());
        Assert.Equal(dashboards.Count, dashboards.Select(d => (string?)d.Json["title"]).Distinct().Count());
    }

    [Fact]
    public void Panels_use_only_provisioned_datasources_through_a_datasource_variable()
    {
        var provisioned = DashboardFiles.ProvisionedDatasources();
        Assert.Equal(DashboardFiles.PostgresType, provisioned["analytics-pg"]);
        Assert.Equal(DashboardFiles.PrometheusType, provisioned["analytics-prom"]);
        foreach (var (file, json) in DashboardFiles.Load())
        {
            var datasourceVariables = DashboardFiles.Variables(json).Where(v => (string?)v["type"] == "datasource")
                .ToDictionary(v => (string)v["name"]!, v => (Type: (string)v["query"]!, Default: (string?)v["current"]?["value"]));
            foreach (var (name, variable) in datasourceVariables)
            {
                Assert.True(provisioned.Values.Contains(variable.Type), $"{file}: variable {name} lists {variable.Type}, which is not provisioned");
                Assert.True(variable.Default is not null && provisioned.TryGetValue(variable.Default, out var type) && type == variable.Type,
                    $"{file}: variable {name} defaults to {variable.Default}, not a provisioned {variable.Type} uid");
            }

            var references = DashboardFiles.DatasourceReferences(json).ToList();
            Assert.NotEmpty(references);
            foreach (var (path, reference) in references)
            {
                Assert.True(reference is JsonObject, $"{file} {path}: a data source must be {{type, uid}}, not a name or id: {reference}");
                var uid = (string?)reference["uid"];
                var type = (string?)reference["type"];
                Assert.False(reference.AsObject().ContainsKey("id"), $"{file} {path}: numeric data source id");
                if (uid is not null && uid.StartsWith('$'))
                {
                    var name = uid.Trim('$', '{', '}');
                    Assert.True(datasourceVariables.TryGetValue(name, out var variable), $"{file} {path}: {uid} is not a datasource variable");
                    Assert.Equal(variable.Type, type);
                }
                else
                {
                    Assert.True(uid is not null && provisioned.TryGetValue(uid, out var provisionedType) && provisionedType == type,
                        $"{file} {path}: data source {type}/{uid} is not provisioned");
                }
            }

            Assert.DoesNotContain("\"datasourceId\"", json.ToJsonString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_panel_has_a_target_and_SQL_panels_say_which_format_they_return()
    {
        foreach (var (file, json) in DashboardFiles.Load())
        {
            foreach (var panel in Panels(json).Where(p => (string?)p["type"] != "row"))
            {
                var targets = panel["targets"]!.AsArray().Select(t => t!.AsObject()).ToList();
                Assert.NotEmpty(targets);
                foreach (var target in targets)
                {
                    if (DashboardFiles.TypeOf(target, panel) == DashboardFiles.PostgresType)
                    {
                        Assert.Contains((string?)target["format"], new[] { "time_series", "table" });
                        Assert.False(string.IsNullOrWhiteSpace((string?)target["rawSql"]), $"{file} {panel["title"]}: no rawSql");
                    }
                    else
                    {
                        Assert.False(string.IsNullOrWhiteSpace((string?)target["expr"]), $"{file} {panel["title"]}: no expr");
                    }
                }
            }
        }
    }

    [Fact]
    public void Alert_rules_have_unique_uids_and_query_provisioned_datasources_or_expressions()
    {
        var rules = DashboardFiles.AlertRules();
        var datasources = DashboardFiles.ProvisionedDatasources();
        Assert.NotEmpty(rules);
        Assert.Equal(rules.Count, rules.Select(r => (string?)r.Rule["uid"]).Distinct().Count());
        foreach (var (file, rule) in rules)
        {
            var data = rule["data"]!.AsArray().Select(d => d!.AsObject()).ToList();
            Assert.Contains(data, d => (string?)d["refId"] == (string?)rule["condition"]);
            foreach (var query in data)
            {
                var uid = (string)query["datasourceUid"]!;
                Assert.True(uid == "__expr__" || datasources.ContainsKey(uid), $"{file} / {rule["title"]}: unknown datasource {uid}");
            }

            if ((string?)rule["annotations"]?["__dashboardUid__"] is { } dashboardUid)
            {
                Assert.Contains(DashboardFiles.Load(), d => (string?)d.Json["uid"] == dashboardUid);
            }
        }
    }

    [Fact]
    public void The_expander_writes_what_Grafana_writes()
    {
        var expander = new GrafanaSqlExpander(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero),
                new DateTimeOffset(2026, 11, 2, 12, 30, 0, TimeSpan.Zero), "1h")
            .With("model", ["atlas", "o'brien"]).WithAll("surface", "'__all'", ["web"]).WithAll("arm", null, ["a", "b"]);
        Assert.Equal(
            "select floor(extract(epoch from t)/3600)*3600 AS \"time\", floor(extract(epoch from t)/300)*300 AS \"time\", "
            + "floor(extract(epoch from t)/3600)*3600 as b from x where t BETWEEN '2026-11-01T00:00:00Z' AND '2026-11-02T12:30:00Z' "
            + "and m in ('atlas','o''brien') and '__all' in ('__all') and a in ('a','b') and f = '2026-11-01T00:00:00Z' and i = '1h'",
            expander.Expand("select $__timeGroupAlias(t, $__interval), $__timeGroup(t, '5m'), $__timeGroup(t, 1h) as b from x "
                + "where $__timeFilter(t) and m in ($model) and '__all' in (${surface}) and a in ($arm) and f = $__timeFrom() and i = '$__interval'"));
        Assert.Throws<InvalidOperationException>(() => expander.Expand("select $__nope(t)"));
    }

    private static IEnumerable<JsonObject> Panels(JsonObject dashboard) => DashboardFiles.Panels(dashboard);
}
