using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Ingesting;

namespace Analytics.IntegrationTests;

/// <summary>
/// The refused and error queues have a retention policy (max-length, message-ttl) set by infra/scripts/services-up.sh
/// on the platform's vhost; it matches those two queues and not the ingestion queue (docs/security.md, "Queue retention").
/// </summary>
public sealed class QueueRetentionPolicyTests
{
    [Fact]
    public async Task The_refused_and_error_queues_have_a_max_length_and_max_age_policy_and_the_ingestion_queue_has_none()
    {
        using var management = new HttpClient { BaseAddress = new Uri($"http://{TestEnvironment.RabbitHost}:{TestEnvironment.RabbitManagementPort}/api/") };
        management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestEnvironment.RabbitUser}:{TestEnvironment.RabbitPassword}")));
        var vhost = Environment.GetEnvironmentVariable("ANALYTICS_MQ_VHOST") ?? "analytics";

        var policy = await management.GetFromJsonAsync<JsonElement>($"policies/{Uri.EscapeDataString(vhost)}/analytics-retention");
        Assert.Equal("queues", policy.GetProperty("apply-to").GetString());
        var definition = policy.GetProperty("definition");
        Assert.True(definition.GetProperty("max-length").GetInt64() > 0);
        Assert.True(definition.GetProperty("message-ttl").GetInt64() > 0);
        var pattern = new Regex(policy.GetProperty("pattern").GetString()!);
        Assert.Matches(pattern, IngestionTopology.RefusedQueue);
        Assert.Matches(pattern, IngestionTopology.ErrorQueue);
        Assert.DoesNotMatch(pattern, IngestionTopology.Queue);
    }
}
