using Analytics.IntegrationTests;
using YamlDotNet.RepresentationModel;

namespace Analytics.Tests;

/// <summary>
/// What `docker compose up` would trip over, checked without Docker: docker-compose.yml, the collector, Prometheus and
/// Grafana configuration parse, every file they mount exists, every published port binds to loopback, and the
/// telemetry path (hosts → otel-collector → Jaeger) points at services and receivers that exist.
/// </summary>
public sealed class ComposeDefinitionTests
{
    private static readonly string Root = TestEnvironment.RepositoryRoot();
    private static readonly YamlMappingNode Compose = Load("docker-compose.yml");
    private static readonly YamlMappingNode Services = (YamlMappingNode)Compose["services"];

    [Fact]
    public void Every_published_port_binds_to_loopback_and_every_mounted_file_exists()
    {
        Assert.Superset(new HashSet<string> { "postgres", "rabbitmq", "worker", "worker-projections", "api", "simulator", "prometheus", "grafana", "otel-collector", "jaeger" },
            Services.Children.Keys.Select(k => k.ToString()).ToHashSet());
        foreach (var (name, service) in ServiceNodes())
        {
            foreach (var port in Sequence(service, "ports"))
            {
                Assert.StartsWith("127.0.0.1:", port);
            }

            foreach (var volume in Sequence(service, "volumes").Where(v => v.StartsWith("./", StringComparison.Ordinal)))
            {
                var source = volume.Split(':')[0];
                Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)),
                    $"{name} mounts {source}, which does not exist");
            }
        }
    }

    [Fact]
    public void Hosts_send_otlp_to_the_collector_whose_pipeline_ends_in_jaeger()
    {
        var collector = Service("otel-collector");
        Assert.StartsWith("otel/opentelemetry-collector-contrib:", Scalar(collector, "image"));
        Assert.Contains("./infra/otel/collector.yaml:/etc/otelcol-contrib/config.yaml:ro", Sequence(collector, "volumes"));
        var config = Load("infra/otel/collector.yaml");

        // Every component a pipeline names is defined; traces leave for Jaeger.
        var pipelines = (YamlMappingNode)config["service"]["pipelines"];
        Assert.True(pipelines.Children.ContainsKey("traces"));
        foreach (var (_, pipeline) in pipelines.Children)
        {
            foreach (var section in new[] { "receivers", "processors", "exporters" })
            {
                foreach (var component in ((YamlSequenceNode)pipeline[section]).Select(c => c.ToString()))
                {
                    Assert.True(((YamlMappingNode)config[section]).Children.ContainsKey(component), $"pipeline uses undefined {section}: {component}");
                }
            }
        }

        var jaegerEndpoint = config["exporters"]["otlp/jaeger"]["endpoint"].ToString();
        Assert.Equal("jaeger:4317", jaegerEndpoint);
        var jaeger = Load("infra/jaeger/config.yaml"); // Jaeger v2: OTLP receivers come from its own config file
        Assert.EndsWith(":4317", jaeger["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].ToString());
        var httpReceiver = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].ToString();
        Assert.EndsWith(":4318", httpReceiver);

        foreach (var host in new[] { "worker", "worker-projections", "api", "simulator" })
        {
            var environment = Environment(Service(host));
            Assert.Equal("http://otel-collector:4318", environment["OTEL_EXPORTER_OTLP_ENDPOINT"]);
            Assert.Equal("http/protobuf", environment["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        }
    }

    [Fact]
    public void Prometheus_and_grafana_point_at_services_of_the_stack()
    {
        var prometheus = Load("infra/prometheus/prometheus.yml");
        var targets = ((YamlSequenceNode)prometheus["scrape_configs"])
            .SelectMany(job => ((YamlSequenceNode)job["static_configs"]).SelectMany(c => (YamlSequenceNode)c["targets"]))
            .Select(t => t.ToString().Split(':')[0])
            .ToList();
        Assert.NotEmpty(targets);
        Assert.All(targets, host => Assert.True(Services.Children.ContainsKey(host), $"Prometheus scrapes {host}, not a compose service"));

        var datasources = (YamlSequenceNode)Load("infra/grafana/provisioning/datasources/datasources.yaml")["datasources"];
        foreach (var datasource in datasources.Cast<YamlMappingNode>())
        {
            var url = new Uri(datasource["url"].ToString() is var text && text.Contains("://", StringComparison.Ordinal) ? text : "tcp://" + text);
            Assert.True(Services.Children.ContainsKey(url.Host), $"data source {datasource["uid"]} points at {url.Host}, not a compose service");
        }
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

    internal static YamlMappingNode Service(string name) => (YamlMappingNode)Services[name];

    private static string Scalar(YamlMappingNode node, string key) => node[key].ToString();

    private static IEnumerable<string> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) && value is YamlSequenceNode sequence ? sequence.Select(s => s.ToString()) : [];

    /// <summary>A service's environment, with YAML merge keys (&lt;&lt;: *app-env) applied.</summary>
    internal static Dictionary<string, string> Environment(YamlMappingNode service)
    {
        var environment = new Dictionary<string, string>();
        void Add(YamlMappingNode mapping)
        {
            foreach (var (key, value) in mapping.Children)
            {
                if (key.ToString() == "<<" && value is YamlMappingNode merged)
                {
                    Add(merged);
                }
                else
                {
                    environment[key.ToString()] = value.ToString();
                }
            }
        }

        Add((YamlMappingNode)service["environment"]);
        return environment;
    }
}
