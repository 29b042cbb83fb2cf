using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Analytics.Satisfaction;

public static class SatisfactionEndpoints
{
    private static readonly TimeSpan MaxHourlyRange = TimeSpan.FromDays(31);
    private static readonly TimeSpan MaxRange = TimeSpan.FromDays(400);

    public static IEndpointRouteBuilder MapSatisfactionEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api").WithTags("Satisfaction").RequireAuthorization(Access.ApiKeyAuthentication.Roles.Viewer);
        group.MapGet("/models", async (SatisfactionQueries queries, CancellationToken ct) => TypedResults.Ok(await queries.ModelsAsync(ct)))
            .WithSummary("Models and versions seen, with response counts.");
        group.MapGet("/satisfaction/matrix", Matrix)
            .WithSummary("Model × version × capability cells for a window (default: the last 7 days), with Wilson 95% intervals and sample sizes. Capability \"*\" is the model version over all capabilities.");
        group.MapGet("/satisfaction/over-time", OverTime)
            .WithSummary("Satisfaction and rating rate of one model per hour or day, optionally for one version, capability and slice.");
        group.MapGet("/satisfaction/reasons", Reasons)
            .WithSummary("Thumbs-down reasons of one model (version, capability) in a window, most frequent first.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<SatisfactionCell>>, ProblemHttpResult>> Matrix(
        SatisfactionQueries queries, CancellationToken ct, DateTimeOffset? from = null, DateTimeOffset? to = null, string? model = null,
        string? surface = null, bool? customInstructions = null, string? experimentArm = null)
    {
        var (start, end, problem) = Window(from, to, "day");
        problem ??= model is not null && !await queries.ModelExistsAsync(model, ct) ? UnknownModel(model) : null;
        return problem is not null
            ? problem
            : TypedResults.Ok(await queries.MatrixAsync(start, end, model, new SliceFilter(surface, customInstructions, experimentArm), ct));
    }

    private static async Task<Results<Ok<IReadOnlyList<SatisfactionPoint>>, ProblemHttpResult>> OverTime(
        SatisfactionQueries queries, CancellationToken ct, string? model = null, string? version = null, string? capability = null,
        DateTimeOffset? from = null, DateTimeOffset? to = null, string bucket = "hour",
        string? surface = null, bool? customInstructions = null, string? experimentArm = null)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            return BadRequest("model is required", "Give ?model=<model id>; GET /api/models lists them.");
        }

        if (bucket is not ("hour" or "day"))
        {
            return BadRequest("Unknown bucket", $"bucket must be hour or day, not '{bucket}'.");
        }

        var (start, end, problem) = Window(from, to, bucket);
        problem ??= !await queries.ModelExistsAsync(model, ct) ? UnknownModel(model) : null;
        return problem is not null
            ? problem
            : TypedResults.Ok(await queries.OverTimeAsync(model, version, capability, start, end, bucket,
                new SliceFilter(surface, customInstructions, experimentArm), ct));
    }

    private static async Task<Results<Ok<IReadOnlyList<ReasonCount>>, ProblemHttpResult>> Reasons(
        SatisfactionQueries queries, CancellationToken ct, string? model = null, string? version = null, string? capability = null,
        DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            return BadRequest("model is required", "Give ?model=<model id>; GET /api/models lists them.");
        }

        var (start, end, problem) = Window(from, to, "day");
        problem ??= !await queries.ModelExistsAsync(model, ct) ? UnknownModel(model) : null;
        return problem is not null ? problem : TypedResults.Ok(await queries.ReasonsAsync(model, version, capability, start, end, ct));
    }

    private static (DateTimeOffset From, DateTimeOffset To, ProblemHttpResult? Problem) Window(DateTimeOffset? from, DateTimeOffset? to, string bucket)
    {
        var end = to ?? DateTimeOffset.UtcNow;
        var start = from ?? end.AddDays(-7);
        if (start >= end)
        {
            return (start, end, BadRequest("from must be before to", $"from {start:O} is not before to {end:O}."));
        }

        if (end - start > MaxRange)
        {
            return (start, end, BadRequest("Range too long", $"The window may span at most {MaxRange.TotalDays:0} days."));
        }

        if (bucket == "hour" && end - start > MaxHourlyRange)
        {
            return (start, end, BadRequest("Bucket too fine for the range",
                $"Hourly buckets cover at most {MaxHourlyRange.TotalDays:0} days; use bucket=day or a shorter window."));
        }

        return (start, end, null);
    }

    private static ProblemHttpResult UnknownModel(string model) =>
        BadRequest("Unknown model", $"No responses are recorded for model '{model}'; GET /api/models lists the known ones.");

    private static ProblemHttpResult BadRequest(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: detail);
}
