using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Analytics.Access;

/// <summary>
/// Limits on what one client may ask of the API (configuration section "RequestLimits", docs/security.md): request
/// body, request line (path + query) and header sizes enforced by Kestrel, and a rate limit per client (a known API
/// key, else the remote address) answered with 429 and problem details. /health and /metrics are never limited.
/// </summary>
public static class RequestLimits
{
    public sealed class Options
    {
        /// <summary>Largest request body; the API takes small JSON bodies only (triage assignments).</summary>
        public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

        /// <summary>Longest request line (method, path and query string): longer is answered 414.</summary>
        public int MaxRequestLineBytes { get; set; } = 4 * 1024;

        /// <summary>All request headers together: more is answered 431.</summary>
        public int MaxRequestHeadersBytes { get; set; } = 16 * 1024;

        /// <summary>Requests one client may make per window (token bucket: refilled evenly over the window).</summary>
        public int PermitsPerWindow { get; set; } = 600;

        public int WindowSeconds { get; set; } = 10;

        /// <summary>Requests that may wait for a permit instead of being refused at once.</summary>
        public int QueueLimit { get; set; }
    }

    private static readonly string[] UnlimitedPaths = ["/health", "/metrics"];

    public static IServiceCollection AddRequestLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("RequestLimits");
        services.Configure<Options>(section);
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<Options>>((kestrel, limits) =>
        {
            kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestLineSize = limits.Value.MaxRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = limits.Value.MaxRequestHeadersBytes;
        });
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (UnlimitedPaths.Any(path => context.Request.Path.StartsWithSegments(path, StringComparison.OrdinalIgnoreCase)))
                {
                    return RateLimitPartition.GetNoLimiter("unlimited");
                }

                var limits = context.RequestServices.GetRequiredService<IOptions<Options>>().Value;
                return RateLimitPartition.GetTokenBucketLimiter(ClientKey(context), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limits.PermitsPerWindow,
                    TokensPerPeriod = limits.PermitsPerWindow,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(limits.WindowSeconds),
                    QueueLimit = limits.QueueLimit,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var context = rejected.HttpContext;
                if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = "This client made more requests than the API's rate limit allows; retry after the time in the Retry-After header.",
                    },
                });
            };
        });
        return services;
    }

    /// <summary>Before authentication: floods with unknown keys are limited too (by address).</summary>
    public static IApplicationBuilder UseRequestLimits(this IApplicationBuilder app) => app.UseRateLimiter();

    /// <summary>
    /// A known API key is its own partition (several services behind one address do not starve each other); anything
    /// else, including made-up keys, is limited by remote address, so rotating keys gains nothing.
    /// </summary>
    private static string ClientKey(HttpContext context)
    {
        var key = context.Request.Headers[ApiKeyAuthentication.HeaderName].ToString();
        return key.Length > 0 && context.RequestServices.GetRequiredService<ApiKeyStore>().Find(key) is { } known
            ? "key:" + known.Id
            : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }
}
