using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Analytics.IntegrationTests;
using YamlDotNet.RepresentationModel;

namespace Analytics.Tests;

/// <summary>
/// What the first `docker compose up` on a machine with Docker would trip over, checked as files: pinned and supported
/// images, health checks that the dependants wait on, bounded memory (Jaeger v2 max_traces, a bounded simulator),
/// PostgreSQL's shared memory, Grafana without default credentials, and links that reach a page able to hold the key.
/// </summary>
public sealed partial class ComposeStartupTests
{
    private static readonly string Root = TestEnvironment.RepositoryRoot();
    private static readonly YamlMappingNode Services = (YamlMappingNode)Load("docker-compose.yml")["services"];

    [Fact]
    public void Every_pulled_image_is_pinned_to_a_patch_version_of_a_supported_line()
    {
        var images = new Dictionary<string, string>();
        var built = ServiceNodes().Where(s => s.Service.Children.ContainsKey("build")).Select(s => s.Service["image"].ToString()).ToHashSet();
        Assert.All(built, image => Assert.EndsWith(":local", image));
        foreach (var (name, service) in ServiceNodes())
        {
            var image = service["image"].ToString();
            if (built.Contains(image))
            {
                continue; // built here from the Dockerfile
            }

            // PostgreSQL numbers releases major.minor since version 10: 15.18 is the 18th patch release of 15.
            Assert.Matches(image.StartsWith("postgres:", StringComparison.Ordinal) ? PinnedPostgres() : PinnedImage(), image);
            images[image.Split(':')[0]] = image.Split(':')[1];
        }

        // The lines: Grafana 12 (11.6.1 predates a security fix), RabbitMQ 4 (3.13 is out of community support),
        // Jaeger v2 (v1 is end-of-life), PostgreSQL 15 as the native services run it.
        Assert.True(Major(images["grafana/grafana"]) >= 12, images["grafana/grafana"]);
        Assert.True(Major(images["rabbitmq"]) >= 4, images["rabbitmq"]);
        Assert.Equal(2, Major(images["jaegertracing/jaeger"]));
        Assert.Equal(15, Major(images["postgres"]));
        Assert.DoesNotContain("jaegertracing/all-in-one", images.Keys);
        Assert.True(Minor(images["otel/opentelemetry-collector-contrib"]) > 115, "the collector image is a year old");
    }

    [Fact]
    public void The_hosts_have_health_checks_and_their_dependants_wait_for_healthy()
    {
        foreach (var host in new[] { "worker", "worker-projections", "api" })
        {
            var check = (YamlMappingNode)Service(host)["healthcheck"];
            var test = string.Join(' ', ((YamlSequenceNode)Merged(check)["test"]).Select(t => t.ToString()));
            var port = Regex.Match(ComposeDefinitionTests.Environment(Service(host))["Urls"], @":(\d+)$").Groups[1].Value;
            Assert.Contains($"/dev/tcp/127.0.0.1/{port}", test);
            Assert.Contains("GET /health", test);
        }

        var waits = 0;
        foreach (var (name, service) in ServiceNodes())
        {
            if (service.Children.TryGetValue("depends_on", out var dependsOn) && dependsOn is YamlMappingNode dependencies)
            {
                foreach (var (dependency, condition) in Merged(dependencies).Children.Select(c => (c.Key.ToString(), (YamlMappingNode)c.Value)))
                {
                    if (Service(dependency).Children.ContainsKey("healthcheck"))
                    {
                        Assert.True(condition["condition"].ToString() == "service_healthy", $"{name} starts before {dependency} is healthy");
                        waits++;
                    }
                }
            }
        }

        Assert.True(waits >= 8, $"only {waits} health waits");
    }

    [Fact]
    public void Memory_is_bounded_jaeger_v2_keeps_at_most_max_traces_and_the_simulator_stops()
    {
        var jaeger = Service("jaeger");
        Assert.StartsWith("jaegertracing/jaeger:2.", jaeger["image"].ToString());
        Assert.Contains("./infra/jaeger/config.yaml:/etc/jaeger/config.yaml:ro", Sequence(jaeger, "volumes"));
        Assert.Equal(["--config", "/etc/jaeger/config.yaml"], Sequence(jaeger, "command"));
        var config = Load("infra/jaeger/config.yaml");
        var store = config["extensions"]["jaeger_query"]["storage"]["traces"].ToString();
        Assert.Equal(store, config["exporters"]["jaeger_storage_exporter"]["trace_storage"].ToString());
        var maxTraces = config["extensions"]["jaeger_storage"]["backends"][store]["memory"]["max_traces"].ToString();
        var bound = Regex.Match(maxTraces, @"^\$\{env:([A-Z_]+):-(\d+)\}$");
        Assert.True(bound.Success, $"max_traces must be a number with an environment override, not {maxTraces}");
        Assert.InRange(int.Parse(bound.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 1000, 200_000);
        Assert.True(ComposeDefinitionTests.Environment(jaeger).ContainsKey(bound.Groups[1].Value));
        var extensions = ((YamlSequenceNode)config["service"]["extensions"]).Select(e => e.ToString()).ToList();
        Assert.Contains("jaeger_storage", extensions);
        Assert.Contains("jaeger_query", extensions);

        // Every event is traced, so the simulator runs only on request and for a bounded time.
        var simulator = Service("simulator");
        Assert.Equal(["simulator"], Sequence(simulator, "profiles"));
        var command = Sequence(simulator, "command").ToList();
        var duration = command[command.IndexOf("--duration") + 1];
        Assert.Matches(@"^\$\{SIMULATOR_DURATION:-[1-9]\d*\}$", duration);
    }

    [Fact]
    public void PostgreSQL_gets_more_shared_memory_than_Dockers_64_MB()
    {
        var size = Service("postgres")["shm_size"].ToString();
        var match = Regex.Match(size, @"^(\d+)([mg])$");
        Assert.True(match.Success, size);
        var megabytes = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * (match.Groups[2].Value == "g" ? 1024 : 1);
        Assert.True(megabytes >= 256, $"shm_size {size}");
    }

    /// <summary>Issue: anonymous viewers and admin/admin by default. Now: the password comes from the environment and
    /// Grafana refuses to start without it; anonymous access only when GRAFANA_ANONYMOUS turns it on.</summary>
    [Fact]
    public void Grafana_has_no_default_credentials_and_no_anonymous_access_unless_asked()
    {
        var grafana = Service("grafana");
        var environment = ComposeDefinitionTests.Environment(grafana);
        Assert.Equal("${GRAFANA_ANONYMOUS:-false}", environment["GF_AUTH_ANONYMOUS_ENABLED"]);
        Assert.Equal("${GRAFANA_ADMIN_PASSWORD:-}", environment["GF_SECURITY_ADMIN_PASSWORD"]);
        Assert.Equal(["/bin/sh", "/etc/grafana/start.sh"], Sequence(grafana, "entrypoint"));
        Assert.Contains("./infra/grafana/start.sh:/etc/grafana/start.sh:ro", Sequence(grafana, "volumes"));
        var start = File.ReadAllText(Path.Combine(Root, "infra", "grafana", "start.sh"));
        Assert.Contains("-z \"$GF_SECURITY_ADMIN_PASSWORD\"", start);
        Assert.Contains("\"$GF_SECURITY_ADMIN_PASSWORD\" = \"admin\"", start);
        Assert.Contains("exec /run.sh", start);
        Assert.StartsWith("on-failure:", grafana["restart"].ToString()); // a refusal is not restarted forever
    }

    /// <summary>
    /// A browser link cannot send X-Api-Key, so a dashboard link to /api/... answers 401. Links go to the console's
    /// pages (which keep the key the user entered) through a constant, hidden, not URL-synced variable: no viewer can
    /// point a link elsewhere (a textbox variable could).
    /// </summary>
    [Fact]
    public void Dashboard_links_open_console_pages_through_a_constant_never_the_api()
    {
        // The console's pages, as its router names them (src/Analytics.Console/src/main.ts).
        var consolePaths = ConsoleRoute().Matches(File.ReadAllText(Path.Combine(Root, "src", "Analytics.Console", "src", "main.ts")))
            .Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Contains("/regressions", consolePaths);
        Assert.Contains("/clusters", consolePaths);
        var checkedLinks = 0;
        foreach (var (file, json) in DashboardFiles.Load())
        {
            Assert.DoesNotContain(DashboardFiles.Variables(json), v => (string?)v["type"] == "textbox");
            foreach (var url in Urls(json).Where(u => u.Length > 0))
            {
                Assert.DoesNotContain("/api/", url);
                var console = Regex.Match(url, @"^\$\{console_url\}(/[a-z]*)(\?.*)?$");
                Assert.True(console.Success || url.StartsWith("/d/", StringComparison.Ordinal), $"{file}: link {url} does not open a console page");
                if (console.Success)
                {
                    Assert.Contains(console.Groups[1].Value, consolePaths);
                    var variable = Assert.Single(DashboardFiles.Variables(json), v => (string?)v["name"] == "console_url");
                    Assert.Equal("constant", (string?)variable["type"]);
                    Assert.True((bool?)variable["skipUrlSync"], $"{file}: console_url must not be settable from the URL");
                    checkedLinks++;
                }
            }
        }

        Assert.True(checkedLinks >= 4, $"only {checkedLinks} console links");
    }

    private static IEnumerable<string> Urls(JsonNode? node) => node switch
    {
        JsonObject obj => obj.SelectMany(p => p.Key == "url" && p.Value is JsonValue v && v.TryGetValue<string>(out var s) ? [s] : Urls(p.Value)),
        JsonArray array => array.SelectMany(Urls),
        _ => [],
    };

    private static int Major(string tag) => int.Parse(tag.TrimStart('v').Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static int Minor(string tag) => int.Parse(tag.TrimStart('v').Split('.')[1], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A mapping with its YAML merge keys (&lt;&lt;: *anchor) applied, as Compose reads it.</summary>
    private static YamlMappingNode Merged(YamlMappingNode mapping)
    {
        var merged = new YamlMappingNode();
        foreach (var (key, value) in mapping.Children)
        {
            if (key.ToString() == "<<" && value is YamlMappingNode inner)
            {
                foreach (var (k, v) in Merged(inner).Children)
                {
                    if (!mapping.Children.ContainsKey(k))
                    {
                        merged.Children[k] = v;
                    }
                }
            }
            else
            {
                merged.Children[key] = value;
            }
        }

        return merged;
    }

    private static YamlMappingNode Load(string relativePath)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Root, relativePath));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static IEnumerable<(string Name, YamlMappingNode Service)> ServiceNodes() =>
        Services.Children.Select(c => (c.Key.ToString(), (YamlMappingNode)c.Value));

    private static YamlMappingNode Service(string name) => (YamlMappingNode)Services[name];

    private static IEnumerable<string> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) && value is YamlSequenceNode sequence ? sequence.Select(s => s.ToString()) : [];

    [GeneratedRegex(@"\['(/[a-z]+)', '")]
    private static partial Regex ConsoleRoute();

    [GeneratedRegex(@"^postgres:\d+\.\d+$")]
    private static partial Regex PinnedPostgres();

    /// <summary>name:tag with a full major.minor.patch tag (an optional leading v, an optional -variant like -management).</summary>
    [GeneratedRegex(@"^[a-z0-9./_-]+:v?\d+\.\d+\.\d+(-[a-z]+)?$")]
    private static partial Regex PinnedImage();
}
