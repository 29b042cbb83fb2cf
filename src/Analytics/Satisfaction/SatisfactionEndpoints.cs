using Analytics.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Analytics.Satisfaction;

public static class SatisfactionEndpoints
{
    private const int DefaultDays = 7;
    private static readonly TimeSpan MaxHourlyRange = TimeSpan.FromDays(31);
    private static readonly TimeSpan MaxRange = TimeSpan.FromDays(400);

    public static IEndpointRouteBuilder MapSatisfactionEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api").WithTags("Satisfaction").RequireAuthorization(Access.ApiKeyAuthentication.Roles.Viewer);
        group.MapGet("/models", async (SatisfactionQueries queries, CancellationToken ct) => TypedResults.Ok(await queries.ModelsAsync(ct)))
            .WithSummary("Models and versions seen, with response counts (all time; a plain list).");
        group.MapGet("/satisfaction/matrix", Matrix)
            .WithSummary("Model × version × capability cells for a window (default: the last 7 days), with Wilson 95% intervals and sample sizes.")
            .WithDescription("Capability \"*\" is the model version over all capabilities (a response with two capabilities counts once). "
                + "Bucket: hour. " + AnswerWindow.Rule);
        group.MapGet("/satisfaction/over-time", OverTime)
            .WithSummary("Satisfaction and rating rate of one model per hour or day, optionally for one version, capability and slice.")
            .WithDescription("Default window: the last 7 days. Items: one per bucket that has responses. " + AnswerWindow.Rule);
        group.MapGet("/satisfaction/reasons", Reasons)
            .WithSummary("Thumbs-down reasons of one model (version, capability) in a window, most frequent first.")
            .WithDescription("Default window: the last 7 days. Bucket: hour (a response counts in the hour it was given). " + AnswerWindow.Rule);
        return app;
    }

    private static async Task<Results<Ok<WindowedAnswer<SatisfactionCell>>, ProblemHttpResult>> Matrix(
        SatisfactionQueries queries, CancellationToken ct, DateTimeOffset? from = null, DateTimeOffset? to = null, string? model = null,
        string? surface = null, bool? customInstructions = null, string? experimentArm = null)
    {
        var (window, problem) = AnswerWindow.Resolve(from, to, AnswerWindow.Hour, DefaultDays, MaxRange);
        problem ??= model is not null && !await queries.ModelExistsAsync(model, ct) ? UnknownModel(model) : null;
        if (problem is not null)
        {
            return problem;
        }

        var position = await queries.PositionAsync(ct);
        var cells = await queries.MatrixAsync(window.From, window.To, model, new SliceFilter(surface, customInstructions, experimentArm), ct);
        return TypedResults.Ok(WindowedAnswer<SatisfactionCell>.Of(window, position, cells));
    }

    private static async Task<Results<Ok<WindowedAnswer<SatisfactionPoint>>, ProblemHttpResult>> OverTime(
        SatisfactionQueries queries, CancellationToken ct, string? model = null, string? version = null, string? capability = null,
        DateTimeOffset? from = null, DateTimeOffset? to = null, string bucket = AnswerWindow.Hour,
        string? surface = null, bool? customInstructions = null, string? experimentArm = null)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            return ParameterProblems.Invalid("model is required", "model", model, ModelForm);
        }

        if (bucket is not (AnswerWindow.Hour or AnswerWindow.Day))
        {
            return ParameterProblems.Invalid("Unknown bucket", "bucket", bucket, "hour or day");
        }

        var (window, problem) = AnswerWindow.Resolve(from, to, bucket, DefaultDays, MaxRange, MaxHourlyRange);
        problem ??= !await queries.ModelExistsAsync(model, ct) ? UnknownModel(model) : null;
        if (problem is not null)
        {
            return problem;
        }

        var position = await queries.PositionAsync(ct);
        var points = await queries.OverTimeAsync(model, version, capability, window.From, window.To, bucket,
            new SliceFilter(surface, customInstructions, experimentArm), ct);
        return TypedResults.Ok(WindowedAnswer<SatisfactionPoint>.Of(window, position, points));
    }

    private static async Task<Results<Ok<WindowedAnswer<ReasonCount>>, ProblemHttpResult>> Reasons(
        SatisfactionQueries queries, CancellationToken ct, string? model = null, string? version = null, string? capability = null,
        DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            return ParameterProblems.Invalid("model is required", "model", model, ModelForm);
        }

        var (window, problem) = AnswerWindow.Resolve(from, to, AnswerWindow.Hour, DefaultDays, MaxRange);
        problem ??= !await queries.ModelExistsAsync(model, ct) ? UnknownModel(model) : null;
        if (problem is not null)
        {
            return problem;
        }

        var position = await queries.PositionAsync(ct);
        var reasons = await queries.ReasonsAsync(model, version, capability, window.From, window.To, ct);
        return TypedResults.Ok(WindowedAnswer<ReasonCount>.Of(window, position, reasons));
    }

    private const string ModelForm = "a model id with recorded responses (GET /api/models lists them)";

    private static ProblemHttpResult UnknownModel(string model) => ParameterProblems.Invalid("Unknown model", "model", model, ModelForm);
}
