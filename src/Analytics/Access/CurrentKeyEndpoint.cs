using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Analytics.Access;

/// <summary>Who the caller's API key is: its name and role (viewer, triager or admin), for pages that show actions by role.</summary>
public sealed record CurrentKey(string Name, string Role, bool CanTriage);

public static class CurrentKeyEndpoint
{
    public static IEndpointRouteBuilder MapCurrentKey(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/me", Get)
            .RequireAuthorization(ApiKeyAuthentication.Roles.Viewer)
            .WithTags("Access")
            .WithSummary("The caller's API key: its name and role (viewer < triager < admin). 401 for no or an unknown key.");
        return app;
    }

    private static Ok<CurrentKey> Get(ClaimsPrincipal user)
    {
        var role = user.FindFirstValue(ClaimTypes.Role) ?? ApiKeyAuthentication.Roles.Viewer;
        return TypedResults.Ok(new CurrentKey(user.Identity?.Name ?? "unknown", role,
            role is ApiKeyAuthentication.Roles.Triager or ApiKeyAuthentication.Roles.Admin));
    }
}
