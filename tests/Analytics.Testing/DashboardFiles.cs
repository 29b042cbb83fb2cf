using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

// The namespace the test projects and the benchmarks have always used for this type: their files keep compiling unchanged.
namespace Analytics.IntegrationTests;

/// <summary>The dashboards in dashboards/ and the data sources Grafana is provisioned with (infra/grafana).</summary>
public static partial class DashboardFiles
{
    public const string PostgresType = "grafana-postgresql-datasource";
    public const string PrometheusType = "prometheus";

    public static IReadOnlyList<(string File, JsonObject Json)> Load() =>
        Directory.GetFiles(Path.Combine(TestEnvironment.RepositoryRoot(), "dashboards"), "*.json")
            .Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileName(path), JsonNode.Parse(File.ReadAllText(path))!.AsObject()))
            .ToList();

    /// <summary>The Grafana alert rules provisioned from infra/grafana/provisioning/alerting/*.json, with their file.</summary>
    public static IReadOnlyList<(string File, JsonObject Rule)> AlertRules() =>
        Directory.GetFiles(Path.Combine(TestEnvironment.RepositoryRoot(), "infra", "grafana", "provisioning", "alerting"), "*.json")
            .Order(StringComparer.Ordinal)
            .SelectMany(path => (JsonNode.Parse(File.ReadAllText(path))!["groups"]?.AsArray() ?? [])
                .SelectMany(g => g!["rules"]!.AsArray())
                .Select(r => (Path.GetFileName(path), r!.AsObject())))
            .ToList();

    /// <summary>uid → type of every data source in infra/grafana/provisioning/datasources/*.yaml.</summary>
    public static IReadOnlyDictionary<string, string> ProvisionedDatasources()
    {
        var sources = new Dictionary<string, string>();
        foreach (var file in Directory.GetFiles(Path.Combine(TestEnvironment.RepositoryRoot(), "infra", "grafana", "provisioning", "datasources"), "*.y*ml"))
        {
            // One list item per "- name:"; uid and type are plain scalars at the item's own indentation.
            foreach (var item in ListItem().Split(File.ReadAllText(file)).Skip(1))
            {
                var uid = YamlScalar("uid").Match(item);
                var type = YamlScalar("type").Match(item);
                Assert.True(uid.Success && type.Success, $"{file}: a data source without uid or type:\n{item}");
                sources.Add(uid.Groups[1].Value, type.Groups[1].Value);
            }
        }

        return sources;
    }

    public static IEnumerable<JsonObject> Panels(JsonObject dashboard) =>
        dashboard["panels"]!.AsArray().Select(p => p!.AsObject())
            .SelectMany(p => p["panels"] is JsonArray nested ? nested.Select(n => n!.AsObject()).Prepend(p) : [p]);

    public static IEnumerable<JsonObject> Variables(JsonObject dashboard) =>
        dashboard["templating"]?["list"]?.AsArray().Select(v => v!.AsObject()) ?? [];

    /// <summary>The data source plugin type a panel or target refers to (its own, else the panel's).</summary>
    public static string? TypeOf(JsonObject target, JsonObject panel) =>
        (string?)target["datasource"]?["type"] ?? (string?)panel["datasource"]?["type"];

    /// <summary>Every JSON object under a "datasource" key, with where it was found.</summary>
    public static IEnumerable<(string Path, JsonNode Reference)> DatasourceReferences(JsonNode node, string path = "$")
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (value is null)
                    {
                        continue;
                    }

                    if (key == "datasource")
                    {
                        yield return ($"{path}.{key}", value);
                    }
                    else
                    {
                        foreach (var found in DatasourceReferences(value, $"{path}.{key}"))
                        {
                            yield return found;
                        }
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is { } item)
                    {
                        foreach (var found in DatasourceReferences(item, $"{path}[{i}]"))
                        {
                            yield return found;
                        }
                    }
                }

                break;
        }
    }

    /// <summary>Metric names in a PromQL expression (label matchers, ranges, grouping labels and functions removed).</summary>
    public static IEnumerable<string> PromMetricNames(string expr)
    {
        var bare = PromNoise().Replace(expr, " ");
        return PromIdentifier().Matches(bare)
            .Where(m => !PromKeywords.Contains(m.Value) && !IsFollowedByParenthesis(bare, m.Index + m.Length))
            .Select(m => m.Value)
            .Distinct();
    }

    private static bool IsFollowedByParenthesis(string text, int index)
    {
        while (index < text.Length && char.IsWhiteSpace(text[index]))
        {
            index++;
        }

        return index < text.Length && text[index] == '(';
    }

    private static readonly HashSet<string> PromKeywords =
        ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"];

    [GeneratedRegex(@"^\s*-\s+name:", RegexOptions.Multiline)]
    private static partial Regex ListItem();

    private static Regex YamlScalar(string key) => new($@"^\s*{key}:\s*""?([^""\s#]+)""?", RegexOptions.Multiline);

    [GeneratedRegex(@"\{[^}]*\}|\[[^\]]*\]|""[^""]*""|\b(by|without)\s*\([^)]*\)")]
    private static partial Regex PromNoise();

    [GeneratedRegex(@"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex PromIdentifier();
}

/// <summary>
/// Turns a panel's SQL into what Grafana sends to PostgreSQL: first the frontend interpolates template variables
/// (a multi-value variable becomes 'a','b' with quotes doubled; a custom "All" value is inserted as it is; $__interval
/// becomes e.g. 1h), then the PostgreSQL data source expands its macros (pkg/tsdb/grafana-postgresql-datasource/macros.go):
/// $__timeFilter(c) → c BETWEEN 'from' AND 'to' (RFC 3339, UTC), $__timeFrom()/$__timeTo(), $__timeGroup(c, 1h) →
/// floor(extract(epoch from c)/3600)*3600 (AS "time" for $__timeGroupAlias, or when a comma follows, as Grafana does for
/// pre-5.3 queries), $__time, $__timeEpoch, $__unixEpochFilter/From/To. An unknown macro is an error, as in Grafana.
/// </summary>
public sealed partial class GrafanaSqlExpander(DateTimeOffset from, DateTimeOffset to, string interval)
{
    private readonly Dictionary<string, string> _variables = [];

    /// <summary>Sets a variable to values (formatted as Grafana's SQL data sources format multi-value variables).</summary>
    public GrafanaSqlExpander With(string name, IReadOnlyList<string> values)
    {
        _variables[name] = string.Join(",", values.Select(v => "'" + v.Replace("'", "''", StringComparison.Ordinal) + "'"));
        return this;
    }

    /// <summary>Sets a variable to its "All" value: the custom all value as written, else every option.</summary>
    public GrafanaSqlExpander WithAll(string name, string? customAllValue, IReadOnlyList<string> options) =>
        customAllValue is { Length: > 0 } ? WithRaw(name, customAllValue) : With(name, options);

    public GrafanaSqlExpander Clone()
    {
        var copy = new GrafanaSqlExpander(from, to, interval);
        foreach (var (name, value) in _variables)
        {
            copy._variables[name] = value;
        }

        return copy;
    }

    public GrafanaSqlExpander WithRaw(string name, string value)
    {
        _variables[name] = value;
        return this;
    }

    public string Expand(string sql)
    {
        var intervalSpan = ParseInterval(interval);
        var interpolated = TemplateVariable().Replace(sql, m =>
        {
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            return name switch
            {
                "__interval" => interval,
                "__interval_ms" => ((long)intervalSpan.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
                _ when _variables.TryGetValue(name, out var value) => value,
                _ when name.StartsWith("__", StringComparison.Ordinal) => m.Value, // macros: expanded by the data source
                _ => throw new InvalidOperationException($"Unknown template variable ${name} in:\n{sql}"),
            };
        });
        interpolated = interpolated
            .Replace("$__unixEpochFrom()", from.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("$__unixEpochTo()", to.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return Macro().Replace(interpolated, m =>
        {
            var name = m.Groups[1].Value;
            if (name == "__timeGroup")
            {
                var after = interpolated.IndexOf(m.Value, StringComparison.Ordinal) + m.Value.Length;
                if (after < interpolated.Length && interpolated[after] == ',')
                {
                    name = "__timeGroupAlias";
                }
            }

            var args = m.Groups[2].Value.Split(',').Select(a => a.Trim(' ')).ToArray();
            return Evaluate(name, args);
        });
    }

    private string Evaluate(string name, string[] args) => name switch
    {
        "__time" => $"{args[0]} AS \"time\"",
        "__timeEpoch" => $"extract(epoch from {args[0]}) as \"time\"",
        "__timeFilter" => $"{args[0]} BETWEEN '{Rfc3339(from)}' AND '{Rfc3339(to)}'",
        "__timeFrom" => $"'{Rfc3339(from)}'",
        "__timeTo" => $"'{Rfc3339(to)}'",
        "__timeGroup" => TimeGroup(args),
        "__timeGroupAlias" => TimeGroup(args) + " AS \"time\"",
        "__unixEpochFilter" => $"{args[0]} >= {from.ToUnixTimeSeconds()} AND {args[0]} <= {to.ToUnixTimeSeconds()}",
        _ => throw new InvalidOperationException($"unknown macro \"{name}\" (Grafana would fail the query)"),
    };

    private static string TimeGroup(string[] args)
    {
        if (args.Length < 2)
        {
            throw new InvalidOperationException("macro __timeGroup needs time column and interval and optional fill value");
        }

        var seconds = ParseInterval(args[1].Trim('\'')).TotalSeconds.ToString("R", CultureInfo.InvariantCulture);
        return $"floor(extract(epoch from {args[0]})/{seconds})*{seconds}";
    }

    private static string Rfc3339(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture).TrimEnd('.') + "Z";

    public static TimeSpan ParseInterval(string text)
    {
        var m = IntervalPattern().Match(text);
        if (!m.Success)
        {
            throw new InvalidOperationException($"error parsing interval {text}");
        }

        var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            "d" => TimeSpan.FromDays(n),
            "w" => TimeSpan.FromDays(7 * n),
            _ => TimeSpan.FromDays(365 * n),
        };
    }

    [GeneratedRegex(@"\$\{(\w+)\}|\$(\w+)")]
    private static partial Regex TemplateVariable();

    [GeneratedRegex(@"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")]
    private static partial Regex Macro();

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$")]
    private static partial Regex IntervalPattern();
}
