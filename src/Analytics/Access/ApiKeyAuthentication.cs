using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Analytics.Access;

/// <summary>
/// API keys with owners and roles, from configuration (section Auth:ApiKeys, see <see cref="ApiKeyStore"/>). Roles nest:
/// admin can do what a triager can, a triager what a viewer can. No or unknown key → 401; a known key
/// whose role is too low → 403. The exporter role may only export (<see cref="Roles.Exporter"/>). The caller's name
/// (audit trails) is the key's owner. The fallback policy closes whatever names no policy (see <see cref="AddApiKeyAccess"/>).
/// </summary>
public static class ApiKeyAuthentication
{
    public const string Scheme = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    public static class Roles
    {
        public const string Viewer = "viewer";
        public const string Triager = "triager";
        public const string Admin = "admin";

        /// <summary>May export preference pairs (and read what a viewer reads); admins may export too.</summary>
        public const string Exporter = "exporter";
    }

    /// <summary>The claim that names the configured key (its id in Auth:ApiKeys), beside the owner (the name).</summary>
    public const string KeyIdClaim = "api-key-id";

    public static IServiceCollection AddApiKeyAccess(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(_ => ApiKeyStore.FromConfiguration(configuration));
        services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(Scheme, null);
        services.AddAuthorizationBuilder()
            // Closed by default: an endpoint (or static file, or unknown path) without a policy of its own needs a key
            // with a known role, as the viewer policy does. Open ones say so with AllowAnonymous (/health, /metrics,
            // /openapi/v1.json); actions that need more than a viewer name their policy.
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(Scheme).RequireRole(Roles.Viewer, Roles.Triager, Roles.Admin, Roles.Exporter).Build())
            .AddPolicy(Roles.Viewer, p => p.RequireRole(Roles.Viewer, Roles.Triager, Roles.Admin, Roles.Exporter))
            .AddPolicy(Roles.Triager, p => p.RequireRole(Roles.Triager, Roles.Admin))
            .AddPolicy(Roles.Admin, p => p.RequireRole(Roles.Admin))
            .AddPolicy(Roles.Exporter, p => p.RequireRole(Roles.Exporter, Roles.Admin));
        return services;
    }

    private sealed class ApiKeyHandler(
        IOptionsMonitor<AuthenticationSchemeOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder,
        ApiKeyStore keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(HeaderName, out var values) || string.IsNullOrWhiteSpace(values.ToString()))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            if (keys.Find(values.ToString()) is not { } key)
            {
                return Task.FromResult(AuthenticateResult.Fail("Unknown API key"));
            }

            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, key.Owner), new Claim(ClaimTypes.Role, key.Role), new Claim(KeyIdClaim, key.Id)],
                ApiKeyAuthentication.Scheme);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeyAuthentication.Scheme)));
        }

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = 401;
            Response.Headers.WWWAuthenticate = $"{ApiKeyAuthentication.Scheme} header=\"{HeaderName}\"";
            return Task.CompletedTask;
        }
    }
}
