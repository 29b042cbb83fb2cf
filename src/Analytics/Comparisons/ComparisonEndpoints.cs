using Analytics.Access;
using Analytics.Hosting;
using Analytics.Satisfaction;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Comparisons;

public static class ComparisonEndpoints
{
    private const int DefaultDays = 30;
    private static readonly TimeSpan MaxRange = TimeSpan.FromDays(400);

    public static IServiceCollection AddComparisonQueries(this IServiceCollection services) =>
        services.AddSingleton<ComparisonQueries>().AddSingleton<LeaderboardCache>();

    public static IEndpointRouteBuilder MapComparisonEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/comparisons").WithTags("Comparisons").RequireAuthorization(ApiKeyAuthentication.Roles.Viewer);
        group.MapGet("/leaderboard", Leaderboard)
            .WithSummary("Bradley–Terry leaderboard from side-by-side comparisons (ties and both-bad as half wins), with bootstrap 95% intervals, ranks and differences to the leader; overall or for one capability. Default window: the last 30 days.")
            .WithDescription("Scale: Elo points (400 = 10× the odds) with the anchor model at 1000 exactly, in the estimate and in every "
                + "bootstrap round; anchor=model@version chooses it, the default is the model with the most comparisons in the window "
                + "(alphabetically first among equals). A model's lower/upper is the 95% interval of its difference to the anchor, plus 1000 "
                + "(the anchor's own is a point). toLeader {difference, lower, upper} is the model's difference to the leader (the highest "
                + "rating) with its 95% interval, and rank = 1 + the models better than this one with 95% confidence (their difference to "
                + "it has its 2.5th percentile above 0): neither depends on the anchor. Poisson bootstrap over the pair counts, "
                + "bootstrap rounds (20–2000, default 200). Bucket: hour (a comparison counts in the hour it was made). " + AnswerWindow.Rule
                + " The items are the rated models; the answer also carries capability, anchor, leader, bootstrap and comparisons.");
        group.MapGet("/head-to-head", HeadToHeads)
            .WithSummary("Outcome counts and win share (Wilson 95%) for every pair of model versions that met. Default window: the last 30 days.")
            .WithDescription("Bucket: hour (a comparison counts in the hour it was made). " + AnswerWindow.Rule);
        return app;
    }

    private static async Task<Results<Ok<LeaderboardAnswer>, ProblemHttpResult>> Leaderboard(ComparisonQueries queries,
        SatisfactionQueries satisfaction, LeaderboardCache cache, CancellationToken ct,
        string? capability = null, DateTimeOffset? from = null, DateTimeOffset? to = null, int bootstrap = 200, string? anchor = null)
    {
        if (bootstrap is < 20 or > 2000)
        {
            return ParameterProblems.Invalid("bootstrap out of range", "bootstrap", bootstrap.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "a whole number of resampling rounds from 20 to 2000");
        }

        if (anchor is not null && (anchor.Length < 3 || anchor.IndexOf('@', StringComparison.Ordinal) is <= 0 || anchor.EndsWith('@')))
        {
            return ParameterProblems.Invalid("Unreadable anchor", "anchor", anchor, "model@version, e.g. atlas@2026-11");
        }

        var (window, problem) = AnswerWindow.Resolve(from, to, AnswerWindow.Hour, DefaultDays, MaxRange);
        if (problem is not null)
        {
            return problem;
        }

        var position = await satisfaction.PositionAsync(ct);
        var key = new LeaderboardCache.Key(window.From, window.To, capability ?? SatisfactionQueries.AllCapabilities, anchor, bootstrap, position.Position);
        var (pairs, board) = await cache.GetAsync(key, async () =>
        {
            var pairs = await queries.PairsAsync(capability, window.From, window.To, CancellationToken.None);
            var known = anchor is null || pairs.Any(p => p.ModelA == anchor || p.ModelB == anchor);
            return (pairs, known ? BradleyTerry.Leaderboard(pairs, bootstrap, anchor: anchor) : null);
        });
        if (board is null)
        {
            var models = pairs.SelectMany(p => new[] { p.ModelA, p.ModelB }).Distinct().Order(StringComparer.Ordinal).ToList();
            var listed = models.Count == 0 ? "none in this window" : string.Join(", ", models.Take(20)) + (models.Count > 20 ? ", …" : "");
            return ParameterProblems.Invalid("Anchor without comparisons", "anchor", anchor,
                $"model@version of a model with comparisons in the window [{window.From:O}, {window.To:O}) and capability: {listed}");
        }

        return TypedResults.Ok(new LeaderboardAnswer(window.From, window.To, window.Bucket, window.RequestedFrom, window.RequestedTo,
            position.AsOf, position.Position, position.Lag, key.Capability, board.Anchor, board.Leader, bootstrap,
            pairs.Sum(p => p.Total), board.Models));
    }

    private static async Task<Results<Ok<WindowedAnswer<HeadToHead>>, ProblemHttpResult>> HeadToHeads(ComparisonQueries queries,
        SatisfactionQueries satisfaction, CancellationToken ct, string? capability = null, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        var (window, problem) = AnswerWindow.Resolve(from, to, AnswerWindow.Hour, DefaultDays, MaxRange);
        if (problem is not null)
        {
            return problem;
        }

        var position = await satisfaction.PositionAsync(ct);
        var pairs = await queries.PairsAsync(capability, window.From, window.To, ct);
        return TypedResults.Ok(WindowedAnswer<HeadToHead>.Of(window, position, pairs.Select(HeadToHead.From).ToList()));
    }
}
