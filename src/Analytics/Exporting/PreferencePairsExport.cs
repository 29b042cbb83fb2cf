using System.Globalization;
using System.Text.Json;
using Analytics.Access;
using Analytics.Hosting;
using Analytics.Satisfaction;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Weasel.Postgresql.Tables;

namespace Analytics.Exporting;

public sealed record PreferenceSide(Guid TurnId, string? Model, string? Response);

/// <summary>One training pair: the response a user preferred and the one they did not, for the same prompt.</summary>
public sealed record PreferencePair(string Source, Guid Id, Guid ConversationId, DateTimeOffset OccurredAt, IReadOnlyList<string> Capabilities,
    string? Prompt, PreferenceSide Chosen, PreferenceSide Rejected);

/// <summary>One preference export: who ran it, over which range, how many rows it sent and whether it ran to the end.</summary>
public sealed record ExportRecord(Guid ExportId, string ExportedBy, DateTimeOffset From, DateTimeOffset To, string? Capability,
    DateTimeOffset StartedAt, long Rows, bool Completed);

/// <summary>
/// GET /api/exports/preference-pairs: JSON Lines, streamed row by row from PostgreSQL. Pairs come from
/// side-by-side comparisons with a winner (a or b; ties and both-bad carry no preference) and from
/// regenerations whose replacement was rated up (chosen = the replacement, rejected = the turn it replaced).
/// It needs the exporter (or admin) role, covers at most <c>Exports:MaxRangeDays</c> (31 by default), stops when the
/// client goes away, and each run is recorded in <see cref="Table"/> (who, range, rows), listed by GET /api/exports
/// (admin): docs/security.md, "Preference export".
/// </summary>
public static class PreferencePairsExport
{
    public const string Table = Conversations.EventStoreRegistration.SchemaName + ".export_log";
    public const int DefaultMaxRangeDays = 31;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The export log (migrated with the event store's schema, written by the API as the application role).</summary>
    public static Table Definition()
    {
        var table = new Table(Table);
        table.AddColumn<Guid>("export_id").AsPrimaryKey();
        table.AddColumn<string>("exported_by").NotNull();
        table.AddColumn<DateTimeOffset>("range_from").NotNull();
        table.AddColumn<DateTimeOffset>("range_to").NotNull();
        table.AddColumn<string>("capability");
        table.AddColumn<DateTimeOffset>("started_at").NotNull();
        table.AddColumn<long>("rows").NotNull();
        table.AddColumn<bool>("completed").NotNull();
        return table;
    }

    public static IEndpointRouteBuilder MapPreferencePairsExport(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/exports/preference-pairs", Export)
            .RequireAuthorization(ApiKeyAuthentication.Roles.Exporter)
            .WithTags("Exporting")
            .WithSummary("Preference pairs (chosen/rejected with prompt and response excerpts) as JSON Lines, streamed. Exporter or admin role; default window: the last 30 days, at most Exports:MaxRangeDays (31); each export is recorded.")
            .WithDescription("Not an aggregate: rows are filtered on their exact time, so the window is [from, to) as requested, not widened to buckets.")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson");
        app.MapGet("/api/exports", List)
            .RequireAuthorization(ApiKeyAuthentication.Roles.Admin)
            .WithTags("Exporting")
            .WithSummary("The recorded preference exports, newest first: who, range, rows, whether it ran to the end (admin).");
        return app;
    }

    private static async Task<IResult> List(NpgsqlDataSource dataSource, CancellationToken cancellationToken, int limit = 100)
    {
        await using var command = dataSource.CreateCommand(
            $"select export_id, exported_by, range_from, range_to, capability, started_at, rows, completed from {Table} order by started_at desc limit $1");
        command.Parameters.Add(new NpgsqlParameter { Value = Math.Clamp(limit, 1, 1000) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<ExportRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(new ExportRecord(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetInt64(6), reader.GetBoolean(7)));
        }

        return TypedResults.Ok(records);
    }

    private static IResult Export(NpgsqlDataSource dataSource, HttpContext http, IConfiguration configuration, DateTimeOffset? from = null,
        DateTimeOffset? to = null, string? capability = null)
    {
        if ((ParameterProblems.OutOfRange("from", from) ?? ParameterProblems.OutOfRange("to", to)) is { } outside)
        {
            return outside;
        }

        var end = to ?? DateTimeOffset.UtcNow;
        var start = from ?? end.AddDays(-30);
        if (start >= end)
        {
            return ParameterProblems.Invalid("from must be before to", "from", start.ToString("O", CultureInfo.InvariantCulture),
                $"{ParameterProblems.DateTimeForm}, before to ({end.ToString("O", CultureInfo.InvariantCulture)})");
        }

        var maxDays = configuration.GetValue("Exports:MaxRangeDays", DefaultMaxRangeDays);
        if (end - start > TimeSpan.FromDays(maxDays))
        {
            return ParameterProblems.Invalid("Range too long", "from", start.ToString("O", CultureInfo.InvariantCulture),
                $"{ParameterProblems.DateTimeForm}, at most {maxDays} days before to (Exports:MaxRangeDays)");
        }

        var record = new ExportRecord(Guid.NewGuid(), http.User.Identity?.Name ?? "unknown", start, end, capability, DateTimeOffset.UtcNow, 0, false);
        return TypedResults.Stream(async body =>
        {
            // The client going away cancels the query and the writes; the record says how far it got.
            var aborted = http.RequestAborted;
            long rows = 0;
            var completed = false;
            try
            {
                await StreamAsync(dataSource, body, start, end, capability, () => rows++, aborted);
                completed = true;
            }
            finally
            {
                await RecordAsync(dataSource, record with { Rows = rows, Completed = completed });
            }
        }, contentType: "application/x-ndjson");
    }

    private static async Task RecordAsync(NpgsqlDataSource dataSource, ExportRecord record)
    {
        await using var command = dataSource.CreateCommand(
            $"insert into {Table} (export_id, exported_by, range_from, range_to, capability, started_at, rows, completed) values ($1, $2, $3, $4, $5, $6, $7, $8)");
        command.Parameters.Add(new NpgsqlParameter { Value = record.ExportId });
        command.Parameters.Add(new NpgsqlParameter { Value = record.ExportedBy });
        command.Parameters.Add(new NpgsqlParameter { Value = record.From.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = record.To.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)record.Capability ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = record.StartedAt.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = record.Rows });
        command.Parameters.Add(new NpgsqlParameter { Value = record.Completed });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private static async Task StreamAsync(NpgsqlDataSource dataSource, Stream body, DateTimeOffset start, DateTimeOffset end, string? capability,
        Action counted, CancellationToken aborted)
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
        await using var reader = await command.ExecuteReaderAsync(aborted);
        while (await reader.ReadAsync(aborted))
        {
            var pair = new PreferencePair(reader.GetString(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.GetFieldValue<string[]>(4), Text(reader, 5),
                new PreferenceSide(reader.GetGuid(6), Text(reader, 7), Text(reader, 8)),
                new PreferenceSide(reader.GetGuid(9), Text(reader, 10), Text(reader, 11)));
            await JsonSerializer.SerializeAsync(body, pair, Json, aborted);
            await body.WriteAsync("\n"u8.ToArray(), aborted);
            await body.FlushAsync(aborted);
            counted();
        }
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
