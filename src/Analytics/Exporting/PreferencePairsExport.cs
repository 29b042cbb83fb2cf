using System.Globalization;
using System.Text.Json;
using Analytics.Hosting;
using Analytics.Access;
using Analytics.Satisfaction;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace Analytics.Exporting;

public sealed record PreferenceSide(Guid TurnId, string? Model, string? Response);

/// <summary>One training pair: the response a user preferred and the one they did not, for the same prompt.</summary>
public sealed record PreferencePair(string Source, Guid Id, Guid ConversationId, DateTimeOffset OccurredAt, IReadOnlyList<string> Capabilities,
    string? Prompt, PreferenceSide Chosen, PreferenceSide Rejected);

/// <summary>
/// GET /api/exports/preference-pairs: JSON Lines, streamed row by row from PostgreSQL. Pairs come from
/// side-by-side comparisons with a winner (a or b; ties and both-bad carry no preference) and from
/// regenerations whose replacement was rated up (chosen = the replacement, rejected = the turn it replaced).
/// </summary>
public static class PreferencePairsExport
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapPreferencePairsExport(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/exports/preference-pairs", Export)
            .RequireAuthorization(ApiKeyAuthentication.Roles.Viewer)
            .WithTags("Exporting")
            .WithSummary("Preference pairs (chosen/rejected with prompt and response excerpts) as JSON Lines, streamed. Default window: the last 30 days.")
            .WithDescription("Not an aggregate: rows are filtered on their exact time, so the window is [from, to) as requested, not widened to buckets.")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson");
        return app;
    }

    private static IResult Export(NpgsqlDataSource dataSource, DateTimeOffset? from = null, DateTimeOffset? to = null, string? capability = null)
    {
        var end = to ?? DateTimeOffset.UtcNow;
        var start = from ?? end.AddDays(-30);
        if (start >= end)
        {
            return ParameterProblems.Invalid("from must be before to", "from", start.ToString("O", CultureInfo.InvariantCulture),
                $"{ParameterProblems.DateTimeForm}, before to ({end.ToString("O", CultureInfo.InvariantCulture)})");
        }

        return TypedResults.Stream(async body =>
        {
            await using var command = dataSource.CreateCommand($"""
                select 'comparison', c.comparison_id, c.conversation_id, c.occurred_at, c.capabilities,
                    coalesce(w.prompt_excerpt, l.prompt_excerpt),
                    case when c.preferred = 'a' then c.a_turn_id else c.b_turn_id end,
                    case when c.preferred = 'a' then c.a_model_id || '@' || c.a_model_version else c.b_model_id || '@' || c.b_model_version end,
                    w.response_excerpt,
                    case when c.preferred = 'a' then c.b_turn_id else c.a_turn_id end,
                    case when c.preferred = 'a' then c.b_model_id || '@' || c.b_model_version else c.a_model_id || '@' || c.a_model_version end,
                    l.response_excerpt
                from {SatisfactionProjection.Comparisons} c
                left join {SatisfactionProjection.Responses} w on w.turn_id = case when c.preferred = 'a' then c.a_turn_id else c.b_turn_id end
                left join {SatisfactionProjection.Responses} l on l.turn_id = case when c.preferred = 'a' then c.b_turn_id else c.a_turn_id end
                where c.preferred in ('a', 'b') and c.occurred_at >= $1 and c.occurred_at < $2 and ($3::text is null or $3 = any(c.capabilities))
                union all
                select 'regeneration', n.turn_id, n.conversation_id, n.occurred_at, n.capabilities, coalesce(n.prompt_excerpt, o.prompt_excerpt),
                    n.turn_id, n.model_id || '@' || n.model_version, n.response_excerpt,
                    o.turn_id, o.model_id || '@' || o.model_version, o.response_excerpt
                from {SatisfactionProjection.Responses} n
                join {SatisfactionProjection.Responses} o on o.turn_id = n.regenerated_from
                join {SatisfactionProjection.Ratings} g on g.turn_id = n.turn_id and g.rating = 'up'
                where n.occurred_at >= $1 and n.occurred_at < $2 and ($3::text is null or $3 = any(n.capabilities))
                order by 4, 2
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = start.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter { Value = end.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)capability ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var pair = new PreferencePair(reader.GetString(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetFieldValue<DateTimeOffset>(3),
                    reader.GetFieldValue<string[]>(4), Text(reader, 5),
                    new PreferenceSide(reader.GetGuid(6), Text(reader, 7), Text(reader, 8)),
                    new PreferenceSide(reader.GetGuid(9), Text(reader, 10), Text(reader, 11)));
                await JsonSerializer.SerializeAsync(body, pair, Json);
                await body.WriteAsync("\n"u8.ToArray());
                await body.FlushAsync();
            }
        }, contentType: "application/x-ndjson");
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
