using Analytics.Access;
using Analytics.Satisfaction;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace Analytics.Conversations;

public sealed record TurnRating(string Rating, IReadOnlyList<string> Reasons, string? Comment, DateTimeOffset OccurredAt);

public sealed record ConversationTurn(Guid TurnId, int TurnIndex, DateTimeOffset OccurredAt, string ModelId, string ModelVersion,
    string? ModelVariant, IReadOnlyList<string> Capabilities, int LatencyMs, Guid? RegeneratedFrom, string? PromptExcerpt,
    string? ResponseExcerpt, TurnRating? Rating);

public sealed record ConversationComparison(Guid ComparisonId, DateTimeOffset OccurredAt, Guid ATurnId, string AModel, Guid BTurnId,
    string BModel, string Preferred, IReadOnlyList<string> Capabilities, IReadOnlyList<string> Reasons);

/// <summary>The drill-down view of one conversation, from the projected tables.</summary>
public sealed record ConversationDetail(Guid ConversationId, DateTimeOffset? StartedAt, string? Surface, string? Locale,
    bool? CustomInstructions, string? ExperimentId, string? ExperimentArm, IReadOnlyList<ConversationTurn> Turns,
    IReadOnlyList<TurnRating> OrphanRatings, IReadOnlyList<ConversationComparison> Comparisons);

public static class ConversationView
{
    public static IEndpointRouteBuilder MapConversationView(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/conversations/{conversationId}", Get)
            .RequireAuthorization(ApiKeyAuthentication.Roles.Viewer)
            .WithTags("Conversations")
            .WithSummary("One conversation for drill-down: turns with models, capabilities and current ratings, and comparisons.");
        return app;
    }

    private static async Task<Results<Ok<ConversationDetail>, ProblemHttpResult>> Get(Guid conversationId, NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            $"select started_at, surface, locale, custom_instructions, experiment_id, experiment_arm from {SatisfactionProjection.Conversations} where conversation_id = $1")
        { Parameters = { new() { Value = conversationId } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
            select r.turn_id, r.turn_index, r.occurred_at, r.model_id, r.model_version, r.model_variant, r.capabilities, r.latency_ms,
                r.regenerated_from, r.prompt_excerpt, r.response_excerpt, g.rating, g.reasons, g.comment, g.occurred_at
            from {SatisfactionProjection.Responses} r left join {SatisfactionProjection.Ratings} g on g.turn_id = r.turn_id
            where r.conversation_id = $1 order by r.turn_index, r.occurred_at
            """) { Parameters = { new() { Value = conversationId } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
            select g.rating, g.reasons, g.comment, g.occurred_at from {SatisfactionProjection.Ratings} g
            where g.conversation_id = $1 and not exists (select 1 from {SatisfactionProjection.Responses} r where r.turn_id = g.turn_id)
            """) { Parameters = { new() { Value = conversationId } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
            select comparison_id, occurred_at, a_turn_id, a_model_id || '@' || a_model_version, b_turn_id, b_model_id || '@' || b_model_version,
                preferred, capabilities, reasons
            from {SatisfactionProjection.Comparisons} where conversation_id = $1 order by occurred_at
            """) { Parameters = { new() { Value = conversationId } } });

        await using var reader = await batch.ExecuteReaderAsync(ct);
        (DateTimeOffset? StartedAt, string? Surface, string? Locale, bool? Custom, string? ExperimentId, string? Arm) head = default;
        if (await reader.ReadAsync(ct))
        {
            head = (reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5));
        }

        await reader.NextResultAsync(ct);
        var turns = new List<ConversationTurn>();
        while (await reader.ReadAsync(ct))
        {
            turns.Add(new ConversationTurn(reader.GetGuid(0), reader.GetInt32(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3),
                reader.GetString(4), Text(reader, 5), reader.GetFieldValue<string[]>(6), reader.GetInt32(7),
                reader.IsDBNull(8) ? null : reader.GetGuid(8), Text(reader, 9), Text(reader, 10),
                reader.IsDBNull(11) ? null : new TurnRating(reader.GetString(11), reader.GetFieldValue<string[]>(12), Text(reader, 13),
                    reader.GetFieldValue<DateTimeOffset>(14))));
        }

        await reader.NextResultAsync(ct);
        var orphans = new List<TurnRating>();
        while (await reader.ReadAsync(ct))
        {
            orphans.Add(new TurnRating(reader.GetString(0), reader.GetFieldValue<string[]>(1), Text(reader, 2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        await reader.NextResultAsync(ct);
        var comparisons = new List<ConversationComparison>();
        while (await reader.ReadAsync(ct))
        {
            comparisons.Add(new ConversationComparison(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetGuid(2),
                reader.GetString(3), reader.GetGuid(4), reader.GetString(5), reader.GetString(6), reader.GetFieldValue<string[]>(7),
                reader.GetFieldValue<string[]>(8)));
        }

        if (head.StartedAt is null && turns.Count == 0 && orphans.Count == 0 && comparisons.Count == 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Conversation not found",
                detail: $"No projected data for conversation {conversationId} (it may not be projected yet; /events shows what is stored).");
        }

        return TypedResults.Ok(new ConversationDetail(conversationId, head.StartedAt, head.Surface, head.Locale, head.Custom,
            head.ExperimentId, head.Arm, turns, orphans, comparisons));
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
