using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Analytics.IntegrationTests;
using YamlDotNet.RepresentationModel;

namespace Analytics.Tests;

/// <summary>
/// The checks Grafana itself runs when it provisions infra/grafana/provisioning and dashboards/ at start, written out
/// from Grafana's source (grafana/grafana, paths cited on each test). A provisioning error is fatal at start: Grafana
/// exits and Compose restarts it in a loop, so each of these would otherwise be found only by someone with Docker.
/// </summary>
public sealed partial class GrafanaProvisioningTests
{
    private static readonly string Root = TestEnvironment.RepositoryRoot();
    private static readonly string Alerting = Path.Combine(Root, "infra", "grafana", "provisioning", "alerting");

    /// <summary>
    /// pkg/services/ngalert/models/alert_rule.go, SetDashboardAndPanelFromAnnotations: "both annotations
    /// __dashboardUid__ and __panelId__ must be specified", and __panelId__ "must be a valid integer Panel ID".
    /// The pair must also name a dashboard we ship and a panel on it, or the rule's link leads nowhere.
    /// </summary>
    [Fact]
    public void Alert_rules_give_the_dashboard_and_panel_annotations_together_and_both_exist()
    {
        var dashboards = DashboardFiles.Load().ToDictionary(d => (string)d.Json["uid"]!, d => d.Json);
        var linked = 0;
        foreach (var (file, rule) in DashboardFiles.AlertRules())
        {
            var annotations = rule["annotations"]?.AsObject();
            var dashboardUid = (string?)annotations?["__dashboardUid__"];
            var panelId = (string?)annotations?["__panelId__"];
            Assert.True(string.IsNullOrEmpty(dashboardUid) == string.IsNullOrEmpty(panelId),
                $"{file} / {rule["uid"]}: both annotations __dashboardUid__ and __panelId__ must be specified");
            if (string.IsNullOrEmpty(dashboardUid))
            {
                continue;
            }

            Assert.True(long.TryParse(panelId, NumberStyles.None, CultureInfo.InvariantCulture, out var id),
                $"{file} / {rule["uid"]}: __panelId__ must be a valid integer panel id, not '{panelId}'");
            Assert.True(dashboards.TryGetValue(dashboardUid, out var dashboard), $"{file} / {rule["uid"]}: no dashboard {dashboardUid}");
            Assert.True(DashboardFiles.Panels(dashboard).Any(p => (long?)p["id"] == id),
                $"{file} / {rule["uid"]}: dashboard {dashboardUid} has no panel {id}");
            linked++;
        }

        Assert.True(linked > 0, "no rule links to a panel: the check above checked nothing");
    }

    /// <summary>
    /// pkg/services/provisioning/alerting/rules_types.go (AlertRuleGroupV1.MapToModel, AlertRuleV1.mapToModel): a group
    /// needs a name, a folder and an interval Prometheus' duration parser accepts; a rule needs a title, a uid, data,
    /// a condition, and a "for" that parses; noDataState/execErrState must be one of the known states
    /// (pkg/services/ngalert/models/alert_rule.go, NoDataStateFromString/ErrStateFromString). The condition must be
    /// the refId of one of the rule's queries, and refIds are unique (pkg/services/ngalert/api/api_ruler_validation.go,
    /// ValidateCondition: "condition %s does not exist, must be one of"); the group interval is a multiple of the
    /// 10-second base interval (same file, ValidateInterval); titles are unique in a folder (the rule store's unique
    /// index on org, namespace and title).
    /// </summary>
    [Fact]
    public void Rule_groups_and_rules_have_what_Grafana_requires()
    {
        var titles = new HashSet<(string Folder, string Title)>();
        var groups = AlertingFiles().SelectMany(f => (f.Json["groups"]?.AsArray() ?? []).Select(g => (f.File, Group: g!.AsObject()))).ToList();
        Assert.NotEmpty(groups);
        foreach (var (file, group) in groups)
        {
            Assert.False(string.IsNullOrWhiteSpace((string?)group["name"]), $"{file}: rule group has no name set");
            var folder = (string?)group["folder"];
            Assert.False(string.IsNullOrWhiteSpace(folder), $"{file}: rule group has no folder set");
            Assert.Matches(PrometheusDuration(), (string?)group["interval"] ?? "");
            Assert.Equal(0, Seconds((string)group["interval"]!) % 10);
            foreach (var rule in group["rules"]!.AsArray().Select(r => r!.AsObject()))
            {
                var title = (string?)rule["title"];
                Assert.False(string.IsNullOrEmpty(title), $"{file}: rule has no title set");
                Assert.False(string.IsNullOrEmpty((string?)rule["uid"]), $"{file} / {title}: no UID set");
                Assert.Matches("^[a-zA-Z0-9_-]{1,40}$", (string)rule["uid"]!);
                Assert.True(titles.Add((folder!, title!)), $"{file} / {title}: a second rule with this title in folder {folder}");
                Assert.Matches(PrometheusDuration(), (string?)rule["for"] ?? "0s");
                Assert.Contains((string?)rule["noDataState"] ?? "NoData", new[] { "NoData", "Alerting", "OK", "KeepLast" });
                Assert.Contains((string?)rule["execErrState"] ?? "Alerting", new[] { "Alerting", "Error", "OK", "KeepLast" });

                var data = rule["data"]!.AsArray().Select(d => d!.AsObject()).ToList();
                Assert.NotEmpty(data);
                var condition = (string?)rule["condition"];
                Assert.False(string.IsNullOrEmpty(condition), $"{file} / {title}: no condition set");
                Assert.Contains(condition, data.Select(d => (string?)d["refId"]));
                Assert.Equal(data.Count, data.Select(d => (string?)d["refId"]).Distinct().Count());
                foreach (var query in data)
                {
                    // The query model repeats the refId; expressions refer to other queries by it.
                    Assert.Equal((string?)query["refId"], (string?)query["model"]?["refId"]);
                    if ((string?)query["model"]?["expression"] is { } input && (string?)query["model"]?["type"] is "reduce" or "threshold")
                    {
                        Assert.Contains(input, data.Select(d => (string?)d["refId"]));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Data source uids: a rule query names a provisioned data source by uid, or "__expr__" for server-side expressions
    /// (pkg/expr/service.go, DatasourceUID); a rule whose uid is unknown is accepted at provisioning and fails at every
    /// evaluation. Dashboards refer to data sources by {type, uid} through the datasource variable (checked in
    /// DashboardDefinitionTests); every provisioned data source has a uid Grafana accepts
    /// (pkg/util/shortid_generator.go, ValidateUID: at most 40 characters of letters, digits, '-' and '_').
    /// </summary>
    [Fact]
    public void Rule_queries_use_provisioned_datasource_uids_of_the_right_kind()
    {
        var provisioned = DashboardFiles.ProvisionedDatasources();
        Assert.All(provisioned.Keys, uid => Assert.Matches("^[a-zA-Z0-9_-]{1,40}$", uid));
        foreach (var (file, rule) in DashboardFiles.AlertRules())
        {
            foreach (var query in rule["data"]!.AsArray().Select(d => d!.AsObject()))
            {
                var uid = (string)query["datasourceUid"]!;
                if (uid == "__expr__")
                {
                    Assert.Contains((string?)query["model"]?["type"], new[] { "reduce", "threshold", "math", "resample", "classic_conditions", "sql" });
                    continue;
                }

                Assert.True(provisioned.TryGetValue(uid, out var type), $"{file} / {rule["title"]}: unknown data source {uid}");
                var model = query["model"]!.AsObject();
                Assert.True(type == DashboardFiles.PostgresType ? model.ContainsKey("rawSql") : model.ContainsKey("expr"),
                    $"{file} / {rule["title"]}: a {type} query without its query text");
                Assert.NotNull(query["relativeTimeRange"]);
            }
        }
    }

    /// <summary>
    /// One folder. Rules are provisioned into a folder found or created by title
    /// (pkg/services/provisioning/alerting/rules_provisioner.go, getOrCreateFolderByTitle: a new folder gets
    /// util.GenerateShortUID()); the dashboard provider looks its folder up by folderUid when one is given, else by
    /// title (pkg/services/provisioning/dashboards/file_reader.go, getOrCreateFolder). A fixed folderUid next to the
    /// alerting folder's random uid makes two "Analytics" folders; the title alone makes one, in either order.
    /// </summary>
    [Fact]
    public void Rules_and_dashboards_land_in_one_folder_found_by_title()
    {
        var providers = (YamlSequenceNode)LoadYaml("infra/grafana/provisioning/dashboards/dashboards.yaml")["providers"];
        var provider = Assert.Single(providers.Cast<YamlMappingNode>());
        Assert.False(provider.Children.ContainsKey("folderUid"), "a fixed folderUid creates a second folder beside the alert rules' one");
        var folder = provider["folder"].ToString();
        Assert.False(string.IsNullOrWhiteSpace(folder));
        var ruleFolders = AlertingFiles().SelectMany(f => f.Json["groups"]?.AsArray() ?? []).Select(g => (string?)g!["folder"]).Distinct().ToList();
        Assert.Equal([folder], ruleFolders);
    }

    /// <summary>
    /// Notifications. Without a provisioned contact point and policy the rules fire into Grafana's default
    /// "grafana-default-email" receiver, which has no address: nobody is told. Contact points need a non-blank uid
    /// (pkg/services/provisioning/alerting/contact_point_types.go; testdata empty-uid and whitespace-uid are refused),
    /// a known type and, for a webhook, a url; the policy's receiver must be a contact point that exists
    /// (pkg/services/provisioning/alerting/notification_policy_types.go → the Alertmanager config validation
    /// "undefined receiver"). The url comes from the environment, which Compose sets.
    /// </summary>
    [Fact]
    public void A_contact_point_and_a_policy_route_every_rule_to_a_webhook_from_the_environment()
    {
        var files = AlertingFiles().ToList();
        var contactPoints = files.SelectMany(f => f.Json["contactPoints"]?.AsArray() ?? []).Select(c => c!.AsObject()).ToList();
        var policies = files.SelectMany(f => f.Json["policies"]?.AsArray() ?? []).Select(p => p!.AsObject()).ToList();
        Assert.NotEmpty(contactPoints);
        var names = new HashSet<string>();
        var variables = new List<string>();
        foreach (var contactPoint in contactPoints)
        {
            Assert.True(names.Add((string)contactPoint["name"]!));
            foreach (var receiver in contactPoint["receivers"]!.AsArray().Select(r => r!.AsObject()))
            {
                Assert.False(string.IsNullOrWhiteSpace((string?)receiver["uid"]), "a contact point receiver without uid");
                Assert.Equal("webhook", (string?)receiver["type"]);
                var url = (string?)receiver["settings"]?["url"];
                var variable = EnvironmentReference().Match(url ?? "");
                Assert.True(variable.Success, $"the webhook url must come from the environment, not '{url}'");
                variables.Add(variable.Groups[1].Value);
            }
        }

        var policy = Assert.Single(policies);
        Assert.Contains((string)policy["receiver"]!, names);
        foreach (var (file, rule) in DashboardFiles.AlertRules())
        {
            if ((string?)rule["notification_settings"]?["receiver"] is { } receiver)
            {
                Assert.True(names.Contains(receiver), $"{file} / {rule["title"]}: unknown receiver {receiver}");
            }
        }

        var grafana = ComposeDefinitionTests.Environment(ComposeDefinitionTests.Service("grafana"));
        Assert.All(variables, v => Assert.True(grafana.TryGetValue(v, out var value) && value.Length > 0, $"Compose does not set {v} for Grafana"));
    }

    /// <summary>
    /// The dashboard model of @grafana/schema (npm, 13.2.3: dist/types/raw/dashboard/x/types.gen.d.ts, generated from
    /// kinds/dashboard/dashboard_kind.cue). The package ships TypeScript types, not a JSON schema, so the parts that
    /// bind a provisioned dashboard are written out here: schemaVersion is required; every panel has a type and a
    /// gridPos of h, w, x, y inside the 24-column grid; a row has id, collapsed and panels; fieldConfig has defaults
    /// and overrides; a variable has a name and a type from VariableType, hide from VariableHide (0–3); a dashboard
    /// link has every required member and type 'link' or 'dashboards'; graphTooltip is a DashboardCursorSync (0–2).
    /// </summary>
    [Fact]
    public void Every_dashboard_matches_the_published_dashboard_schema()
    {
        string[] variableTypes = ["query", "adhoc", "groupby", "constant", "datasource", "interval", "textbox", "custom", "system", "snapshot", "switch"];
        string[] linkMembers = ["asDropdown", "icon", "includeVars", "keepTime", "tags", "targetBlank", "title", "tooltip", "type"];
        foreach (var (file, json) in DashboardFiles.Load())
        {
            Assert.True(json["schemaVersion"] is JsonValue version && version.TryGetValue<int>(out _), $"{file}: schemaVersion is required");
            Assert.InRange((int?)json["graphTooltip"] ?? 0, 0, 2);
            Assert.True(json["time"]?["from"] is not null && json["time"]?["to"] is not null, $"{file}: time needs from and to");
            foreach (var link in json["links"]?.AsArray() ?? [])
            {
                Assert.All(linkMembers, m => Assert.True(link!.AsObject().ContainsKey(m), $"{file}: dashboard link {link!["title"]} lacks {m}"));
                Assert.Contains((string?)link!["type"], new[] { "link", "dashboards" });
            }

            foreach (var variable in DashboardFiles.Variables(json))
            {
                Assert.False(string.IsNullOrEmpty((string?)variable["name"]), $"{file}: a variable without name");
                Assert.Contains((string?)variable["type"], variableTypes);
                Assert.InRange((int?)variable["hide"] ?? 0, 0, 3);
            }

            foreach (var panel in DashboardFiles.Panels(json))
            {
                var where = $"{file} panel {panel["id"]} {panel["title"]}";
                Assert.False(string.IsNullOrEmpty((string?)panel["type"]), $"{where}: no type");
                Assert.True(panel["id"] is JsonValue id && id.TryGetValue<int>(out _), $"{where}: id must be a number");
                var grid = panel["gridPos"]!.AsObject();
                var (h, w, x, y) = ((int)grid["h"]!, (int)grid["w"]!, (int)grid["x"]!, (int)grid["y"]!);
                Assert.True(h > 0 && w is > 0 and <= 24 && x >= 0 && x + w <= 24 && y >= 0, $"{where}: gridPos outside the 24-column grid");
                if ((string)panel["type"]! == "row")
                {
                    Assert.True(panel["collapsed"] is not null && panel["panels"] is JsonArray, $"{where}: a row needs collapsed and panels");
                    continue;
                }

                if (panel["fieldConfig"] is JsonObject fieldConfig)
                {
                    Assert.True(fieldConfig["defaults"] is JsonObject && fieldConfig["overrides"] is JsonArray, $"{where}: fieldConfig needs defaults and overrides");
                    foreach (var o in fieldConfig["overrides"]!.AsArray())
                    {
                        Assert.True(o!["matcher"]?["id"] is not null && o["properties"] is JsonArray, $"{where}: an override needs matcher.id and properties");
                    }
                }

                foreach (var link in panel["fieldConfig"]?["defaults"]?["links"]?.AsArray() ?? [])
                {
                    Assert.False(string.IsNullOrEmpty((string?)link!["url"]), $"{where}: a data link without url");
                    Assert.False(string.IsNullOrEmpty((string?)link["title"]), $"{where}: a data link without title");
                }
            }
        }
    }

    internal static IEnumerable<(string File, JsonObject Json)> AlertingFiles() =>
        Directory.GetFiles(Alerting, "*.json").Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileName(path), JsonNode.Parse(File.ReadAllText(path))!.AsObject()));

    private static YamlMappingNode LoadYaml(string relativePath)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Root, relativePath));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static long Seconds(string duration)
    {
        var match = PrometheusDuration().Match(duration);
        long[] unit = [365 * 86400, 7 * 86400, 86400, 3600, 60, 1];
        var seconds = 0L;
        for (var i = 0; i < unit.Length; i++)
        {
            if (match.Groups[2 + (2 * i)].Success)
            {
                seconds += long.Parse(match.Groups[2 + (2 * i)].Value, CultureInfo.InvariantCulture) * unit[i];
            }
        }

        return seconds;
    }

    /// <summary>Prometheus' model.ParseDuration, the parser Grafana uses for intervals and "for".</summary>
    [GeneratedRegex("^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")]
    private static partial Regex PrometheusDuration();

    /// <summary>Grafana expands $NAME and ${NAME} from the environment in provisioning files (pkg/services/provisioning/values).</summary>
    [GeneratedRegex(@"^\$\{?([A-Z_][A-Z0-9_]*)\}?$")]
    private static partial Regex EnvironmentReference();
}
