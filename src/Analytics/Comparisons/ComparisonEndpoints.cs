using Analytics.Access;
using Analytics.Satisfaction;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Comparisons;

public static class ComparisonEndpoints
{
    public static IServiceCollection AddComparisonQueries(this IServiceCollection services) => services.AddSingleton<ComparisonQueries>();

    public static IEndpointRouteBuilder MapComparisonEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/comparisons").WithTags("Comparisons").RequireAuthorization(ApiKeyAuthentication.Roles.Viewer);
        group.MapGet("/leaderboard", Leaderboard)
            .WithSummary("Bradley–Terry leaderboard from side-by-side comparisons (ties and both-bad as half wins), with bootstrap 95% intervals and Chatbot Arena ranks; overall or for one capability. Default window: the last 30 days.");
        group.MapGet("/head-to-head", HeadToHeads)
            .WithSummary("Outcome counts and win share (Wilson 95%) for every pair of model versions that met.");
        return app;
    }

    private static async Task<Results<Ok<Leaderboard>, ProblemHttpResult>> Leaderboard(ComparisonQueries queries, CancellationToken ct,
        string? capability = null, DateTimeOffset? from = null, DateTimeOffset? to = null, int bootstrap = 200)
    {
        if (bootstrap is < 20 or > 2000)
        {
            return Problem("bootstrap out of range", "bootstrap (resampling rounds) must be between 20 and 2000.");
        }

        var (start, end, problem) = Window(from, to);
        if (problem is not null)
        {
            return problem;
        }

        var pairs = await queries.PairsAsync(capability, start, end, ct);
        return TypedResults.Ok(new Leaderboard(capability ?? SatisfactionQueries.AllCapabilities, start, end,
            BradleyTerry.Leaderboard(pairs, bootstrap)));
    }

    private static async Task<Results<Ok<IReadOnlyList<HeadToHead>>, ProblemHttpResult>> HeadToHeads(ComparisonQueries queries, CancellationToken ct,
        string? capability = null, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        var (start, end, problem) = Window(from, to);
        if (problem is not null)
        {
            return problem;
        }

        return TypedResults.Ok<IReadOnlyList<HeadToHead>>((await queries.PairsAsync(capability, start, end, ct)).Select(HeadToHead.From).ToList());
    }

    private static (DateTimeOffset, DateTimeOffset, ProblemHttpResult?) Window(DateTimeOffset? from, DateTimeOffset? to)
    {
        var end = to ?? DateTimeOffset.UtcNow;
        var start = from ?? end.AddDays(-30);
        return start < end ? (start, end, null) : (start, end, Problem("from must be before to", $"from {start:O} is not before to {end:O}."));
    }

    private static ProblemHttpResult Problem(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: detail);
}
