using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Analytics.Access;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.IntegrationTests;

/// <summary>
/// Every /api operation the API describes in /openapi/v1.json, walked: without a key it answers 401, with a key whose
/// role is too low 403, with the lowest role allowed neither. Roles nest viewer &lt; triager &lt; admin; a key with a
/// role the API does not know ("guest") is below viewer. Reads need a viewer; the actions that change something
/// are listed below with the role they need, and an action missing from the list fails the test.
/// </summary>
public sealed class AuthorizationMatrixTests : IAsyncLifetime
{
    private const string GuestKey = "authorization-test-guest-key";

    /// <summary>Actions (not GET) and the lowest role that may take them (docs/security.md).</summary>
    private static readonly Dictionary<string, string> Actions = new(StringComparer.Ordinal)
    {
        ["POST /api/alerts/{alertId}/acknowledge"] = ApiKeyAuthentication.Roles.Triager,
        ["POST /api/triage/clusters/{clusterId}/assign"] = ApiKeyAuthentication.Roles.Triager,
        ["POST /api/triage/clusters/{clusterId}/label"] = ApiKeyAuthentication.Roles.Triager,
        ["POST /api/triage/clusters/{clusterId}/notes"] = ApiKeyAuthentication.Roles.Triager,
        ["POST /api/triage/clusters/{clusterId}/resolve"] = ApiKeyAuthentication.Roles.Triager,
    };

    /// <summary>Reads that need more than a viewer (the exporter role is off this ladder: admin stands for it here).</summary>
    private static readonly Dictionary<string, string> GuardedReads = new(StringComparer.Ordinal)
    {
        ["GET /api/exports/preference-pairs"] = ApiKeyAuthentication.Roles.Admin,
        ["GET /api/exports"] = ApiKeyAuthentication.Roles.Admin,
        ["GET /api/alerts/deliveries"] = ApiKeyAuthentication.Roles.Triager,
    };

    /// <summary>The roles from lowest to highest, with a key for each ("guest" is a role the API does not know).</summary>
    private static readonly (string Role, string Key)[] Ladder =
    [
        ("guest", GuestKey),
        (ApiKeyAuthentication.Roles.Viewer, "local-dev-viewer-key"),
        (ApiKeyAuthentication.Roles.Triager, "local-dev-triager-key"),
        (ApiKeyAuthentication.Roles.Admin, "local-dev-admin-key"),
    ];

    private TestPlatform _platform = null!;
    private WebApplicationFactory<Program> _api = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.CreateAsync();
        _api = new WebApplicationFactory<Program>().WithWebHostBuilder(host => ApiClients.UsePlatform(host, _platform)
            .UseSetting("Auth:ApiKeys:guest:Owner", "guest").UseSetting("Auth:ApiKeys:guest:Role", "guest").UseSetting("Auth:ApiKeys:guest:Key", GuestKey)
            .UseSetting("RequestLimits:PermitsPerWindow", "100000"));
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _platform.DisposeAsync();
    }

    [Fact]
    public async Task Every_api_operation_in_the_OpenAPI_document_answers_401_without_a_key_and_403_to_a_role_below_its_own()
    {
        using var anonymous = _api.CreateClient();
        var document = await anonymous.GetFromJsonAsync<JsonElement>("/openapi/v1.json"); // public: no key
        var operations = Operations(document).ToList();
        Assert.True(operations.Count >= 15, $"only {operations.Count} /api operations in the OpenAPI document");
        Assert.Contains(operations, o => o.Method == "POST"); // both kinds are walked
        var unlisted = operations.Where(o => o.Method != "GET" && !Actions.ContainsKey($"{o.Method} {o.Path}")).ToList();
        Assert.True(unlisted.Count == 0, "actions without an expected role in this test: " + string.Join(", ", unlisted.Select(o => $"{o.Method} {o.Path}")));

        var failures = new List<string>();
        foreach (var (method, path) in operations)
        {
            var required = method == "GET" ? GuardedReads.GetValueOrDefault($"{method} {path}", ApiKeyAuthentication.Roles.Viewer) : Actions[$"{method} {path}"];
            var url = Concrete(path);
            var status = await SendAsync(anonymous, method, url, key: null);
            if (status != HttpStatusCode.Unauthorized)
            {
                failures.Add($"{method} {url} without a key: {(int)status}, expected 401");
            }

            status = await SendAsync(anonymous, method, url, key: "not-a-key-the-api-knows");
            if (status != HttpStatusCode.Unauthorized)
            {
                failures.Add($"{method} {url} with an unknown key: {(int)status}, expected 401");
            }

            var allowed = false;
            foreach (var (role, key) in Ladder)
            {
                allowed |= role == required;
                status = await SendAsync(anonymous, method, url, key);
                if (!allowed && status != HttpStatusCode.Forbidden)
                {
                    failures.Add($"{method} {url} as {role} (needs {required}): {(int)status}, expected 403");
                }
                else if (allowed && status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    failures.Add($"{method} {url} as {role} (needs {required}): {(int)status}, expected to be let in");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task What_names_no_policy_is_closed_and_only_health_metrics_the_OpenAPI_document_and_the_console_are_public()
    {
        using var anonymous = _api.CreateClient();
        // An unknown path: the fallback policy asks for a key before anything else.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/no-such-thing")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/no-such-page")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(anonymous, "GET", "/api/no-such-thing", GuestKey));
        Assert.Equal(HttpStatusCode.NotFound, await SendAsync(anonymous, "GET", "/api/no-such-thing", "local-dev-viewer-key"));

        foreach (var open in new[] { "/health", "/metrics", "/openapi/v1.json", "/", "/clusters" })
        {
            Assert.True((await anonymous.GetAsync(open)).StatusCode == HttpStatusCode.OK, $"{open} should be public");
        }

        // The first triage page is retired: its addresses (bookmarks, old links) open the console's Triage page.
        var noRedirects = _api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        foreach (var old in new[] { "/triage", "/triage/", "/triage/index.html", "/triage/triage.js" })
        {
            using var response = await noRedirects.GetAsync(old);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/clusters", response.Headers.Location?.OriginalString);
        }
    }

    private static IEnumerable<(string Method, string Path)> Operations(JsonElement document)
    {
        foreach (var path in document.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal)))
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is "get" or "post" or "put" or "patch" or "delete"))
            {
                yield return (operation.Name.ToUpperInvariant(), path.Name);
            }
        }
    }

    /// <summary>The path with every {parameter} replaced by a UUID (all the API's path parameters are ids).</summary>
    private static string Concrete(string path) =>
        System.Text.RegularExpressions.Regex.Replace(path, "{[^}]+}", Guid.NewGuid().ToString());

    private static async Task<HttpStatusCode> SendAsync(HttpClient client, string method, string url, string? key)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (key is not null)
        {
            request.Headers.Add(ApiKeyAuthentication.HeaderName, key);
        }

        if (method != "GET")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
