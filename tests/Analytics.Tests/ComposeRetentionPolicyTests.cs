using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Analytics.IntegrationTests;

namespace Analytics.Tests;

/// <summary>
/// The Compose broker (infra/rabbitmq/docker/definitions.json, loaded at boot) bounds the refused and error queues with
/// the same policy that infra/scripts/services-up.sh sets on the native broker: name, vhost, pattern, priority, what it
/// applies to, and the script's default max-length and message-ttl (docs/security.md, "Queue retention").
/// </summary>
public sealed partial class ComposeRetentionPolicyTests
{
    private static readonly string Root = TestEnvironment.RepositoryRoot();

    [Fact]
    public void The_Compose_broker_has_the_retention_policy_that_services_up_sets()
    {
        var script = File.ReadAllText(Path.Combine(Root, "infra", "scripts", "services-up.sh"));
        var defaults = Defaults().Match(script);
        Assert.True(defaults.Success, "services-up.sh: no 'local max_length=${ANALYTICS_RETENTION_MAX_LENGTH:-N} max_age=${ANALYTICS_RETENTION_MAX_AGE_MS:-N}'");
        var command = SetPolicy().Match(script);
        Assert.True(command.Success, "services-up.sh: no 'set_policy -p \"$ANALYTICS_MQ_VHOST\" --apply-to X --priority N NAME 'PATTERN'' line");
        var vhost = Regex.Match(File.ReadAllText(Path.Combine(Root, "infra", "scripts", "services-env.sh")), @"ANALYTICS_MQ_VHOST=(\S+)").Groups[1].Value;
        Assert.NotEmpty(vhost);

        var definitions = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "infra", "rabbitmq", "docker", "definitions.json")))!;
        var policies = definitions["policies"]?.AsArray() ?? [];
        var policy = Assert.Single(policies, p => (string?)p!["name"] == command.Groups["name"].Value)!;
        Assert.Equal(vhost, (string?)policy["vhost"]);
        Assert.Equal(command.Groups["pattern"].Value, (string?)policy["pattern"]);
        Assert.Equal(command.Groups["applyTo"].Value, (string?)policy["apply-to"]);
        Assert.Equal(int.Parse(command.Groups["priority"].Value, CultureInfo.InvariantCulture), (int?)policy["priority"]);
        var definition = policy["definition"]!.AsObject();
        Assert.Equal(["max-length", "message-ttl"], definition.Select(d => d.Key).Order(StringComparer.Ordinal));
        Assert.Equal(long.Parse(defaults.Groups["length"].Value, CultureInfo.InvariantCulture), (long?)definition["max-length"]);
        Assert.Equal(long.Parse(defaults.Groups["age"].Value, CultureInfo.InvariantCulture), (long?)definition["message-ttl"]);
        // The policy applies to the queues it is meant for, and only to them.
        var pattern = new Regex((string)policy["pattern"]!);
        Assert.Matches(pattern, "analytics-ingest-refused");
        Assert.Matches(pattern, "analytics-ingest_error");
        Assert.DoesNotMatch(pattern, "analytics-ingest");
    }

    [GeneratedRegex(@"max_length=\$\{ANALYTICS_RETENTION_MAX_LENGTH:-(?<length>\d+)\}\s+max_age=\$\{ANALYTICS_RETENTION_MAX_AGE_MS:-(?<age>\d+)\}")]
    private static partial Regex Defaults();

    [GeneratedRegex(@"set_policy -p ""\$ANALYTICS_MQ_VHOST"" --apply-to (?<applyTo>\S+) --priority (?<priority>\d+) (?<name>\S+) \\\s*'(?<pattern>[^']+)'")]
    private static partial Regex SetPolicy();
}
