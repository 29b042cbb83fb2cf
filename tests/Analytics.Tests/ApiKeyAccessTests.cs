using System.Security.Claims;
using Analytics.Access;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Tests;

public class ApiKeyAccessTests
{
    private static IAuthorizationService Authorization()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:k1:Owner"] = "someone",
            ["Auth:ApiKeys:k1:Role"] = "viewer",
            ["Auth:ApiKeys:k1:Key"] = "a-key-for-this-test",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddApiKeyAccess(configuration);
        return services.BuildServiceProvider().GetRequiredService<IAuthorizationService>();
    }

    private static ClaimsPrincipal As(string role) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Role, role)], ApiKeyAuthentication.Scheme));

    [Theory]
    [InlineData("viewer", "viewer", true)]
    [InlineData("viewer", "triager", false)]
    [InlineData("viewer", "admin", false)]
    [InlineData("triager", "viewer", true)]
    [InlineData("triager", "triager", true)]
    [InlineData("triager", "admin", false)]
    [InlineData("admin", "viewer", true)]
    [InlineData("admin", "triager", true)]
    [InlineData("admin", "admin", true)]
    [InlineData("intern", "viewer", false)]
    public async Task Roles_nest_admin_over_triager_over_viewer(string role, string policy, bool allowed)
    {
        var result = await Authorization().AuthorizeAsync(As(role), policy);
        Assert.Equal(allowed, result.Succeeded);
    }
}
