using System.Globalization;
using System.Text;
using Analytics.Access;
using Analytics.Hosting;
using Analytics.Satisfaction;
using Analytics.Triage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Npgsql;
using NpgsqlTypes;

namespace Analytics.Conversations;

/// <summary>
/// One row behind a count: the response (or comparison, or clustered thumbs-down) and its conversation. Model is
/// "id@version"; Detail says what the row is when it is not a plain response (e.g. a comparison's outcome).
/// </summary>
public sealed record ConversationListItem(
    Guid ConversationId,
    Guid ItemId,
    DateTimeOffset OccurredAt,
    string Model,
    IReadOnlyList<string> Capabilities,
    string? Rating,
    IReadOnlyList<string> Reasons,
    string? Comment,
    string? Detail);

/// <summary>A page of rows, newest first; pass Next as ?cursor= for the following page (null: no more).</summary>
public sealed record ConversationPage(IReadOnlyList<ConversationListItem> Items, string? Next);

/// <summary>
/// GET /api/conversations: the recent conversations behind a number of the other endpoints. Three sources: the
/// responses of a cell (model, version, capability, window, slices; rating and reason narrow it to the ratings
/// counted), the comparisons of a head-to-head pair (pair and versus, "id@version"), and the items of a triage
/// cluster (cluster).
/// </summary>
public static class ConversationListEndpoint
{
    public const int MaxLimit = 200;

    public static IEndpointRouteBuilder MapConversationList(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/conversations", List)
            .RequireAuthorization(ApiKeyAuthentication.Roles.Viewer)
            .WithTags("Conversations")
            .WithSummary("Recent conversations behind a count, newest first, paged with ?cursor=: the responses of a cell (model, version, capability, from, to, surface, customInstructions, experimentArm; rating=up|down|rated|unrated, reason, regenerated=true), the comparisons of a pair (pair=id@version&versus=id@version, capability, from, to) or the items of a triage cluster (cluster=<id>).");
        return app;
    }

    private static async Task<Results<Ok<ConversationPage>, ProblemHttpResult>> List(
        NpgsqlDataSource dataSource, CancellationToken ct,
        string? model = null, string? version = null, string? capability = null, DateTimeOffset? from = null, DateTimeOffset? to = null,
        string? rating = null, string? reason = null, bool? regenerated = null,
        string? surface = null, bool? customInstructions = null, string? experimentArm = null,
        string? pair = null, string? versus = null, Guid? cluster = null, string? cursor = null, int limit = 50)
    {
        if (limit is < 1 or > MaxLimit)
        {
            return BadRequest("limit out of range", $"limit must be between 1 and {MaxLimit}.");
        }

        if (rating is not (null or "up" or "down" or "rated" or "unrated"))
        {
            return BadRequest("Unknown rating", $"rating must be up, down, rated or unrated, not '{rating}'.");
        }

        var after = (DateTimeOffset?)null;
        var afterId = Guid.Empty;
        if (cursor is not null && !TryReadCursor(cursor, out after, out afterId))
        {
            return BadRequest("Bad cursor", "cursor must be the Next value of a previous page.");
        }

        if ((ParameterProblems.OutOfRange("from", from) ?? ParameterProblems.OutOfRange("to", to)) is { } outside)
        {
            return outside;
        }

        var end = to ?? DateTimeOffset.UtcNow;
        var start = from ?? end.AddDays(-30);
        if (start >= end)
        {
            return BadRequest("from must be before to", $"from {start:O} is not before to {end:O}.");
        }

        if (cluster is { } clusterId)
        {
            var items = new NpgsqlCommand($"""
                select conversation_id, turn_id, occurred_at, model_id || '@' || model_version, array[capability], 'down', reasons, comment, null::text
                from {TriageTables.Items}
                where ($1::timestamptz is null or (occurred_at, turn_id) < ($1, $2)) and cluster_id = $4
                order by occurred_at desc, turn_id desc limit $3
                """);
            AddCursor(items, after, afterId, limit);
            items.Parameters.Add(new NpgsqlParameter { Value = clusterId });
            return TypedResults.Ok(await ReadAsync(dataSource, items, limit, ct));
        }

        if (pair is not null || versus is not null)
        {
            if (!TrySplit(pair, out var a) || !TrySplit(versus, out var b))
            {
                return BadRequest("pair and versus go together", "Give both pair and versus as model@version, e.g. pair=atlas@2.0&versus=atlas@1.0.");
            }

            var comparisons = new NpgsqlCommand($"""
                select conversation_id, comparison_id, occurred_at, a_model_id || '@' || a_model_version, capabilities, null::text, reasons, null::text,
                    a_model_id || '@' || a_model_version || ' vs ' || b_model_id || '@' || b_model_version || ': ' ||
                    case preferred when 'a' then a_model_id || '@' || a_model_version || ' preferred' when 'b' then b_model_id || '@' || b_model_version || ' preferred' else preferred end
                from {SatisfactionProjection.Comparisons}
                where ($1::timestamptz is null or (occurred_at, comparison_id) < ($1, $2)) and occurred_at >= $4 and occurred_at < $5
                    and ((a_model_id = $6 and a_model_version = $7 and b_model_id = $8 and b_model_version = $9)
                      or (a_model_id = $8 and a_model_version = $9 and b_model_id = $6 and b_model_version = $7))
                    and ($10::text is null or $10 = '{SatisfactionQueries.AllCapabilities}' or $10 = any(capabilities))
                order by occurred_at desc, comparison_id desc limit $3
                """);
            AddCursor(comparisons, after, afterId, limit);
            comparisons.Parameters.Add(new NpgsqlParameter { Value = start.ToUniversalTime() });
            comparisons.Parameters.Add(new NpgsqlParameter { Value = end.ToUniversalTime() });
            foreach (var part in new[] { a.Model, a.Version, b.Model, b.Version, capability })
            {
                comparisons.Parameters.Add(Text(part));
            }

            return TypedResults.Ok(await ReadAsync(dataSource, comparisons, limit, ct));
        }

        // The cell's responses, by the hour they are counted under (as the matrix and over-time counters are), between the
        // first and last hour in which the cell's counters have responses: none, and the page is empty without a walk.
        var slices = new SliceFilter(Given(surface), customInstructions, Given(experimentArm));
        if (await CountedHoursAsync(dataSource, start, end, model, version, capability, reason, slices, ct) is not { } hours)
        {
            return TypedResults.Ok(new ConversationPage([], null));
        }

        var command = new NpgsqlCommand($"""
            select r.conversation_id, r.turn_id, r.occurred_at, r.model_id || '@' || r.model_version, r.capabilities, g.rating,
                coalesce(g.reasons, array[]::text[]), g.comment,
                case when r.regenerated_from is not null then 'regeneration' end
            from {SatisfactionProjection.Responses} r left join {SatisfactionProjection.Ratings} g on g.turn_id = r.turn_id
            where ($1::timestamptz is null or (r.occurred_at, r.turn_id) < ($1, $2)) and r.hour >= $4 and r.hour < $5
                and r.occurred_at >= $4 and r.occurred_at < $5
                and ($6::text is null or r.model_id = $6) and ($7::text is null or r.model_version = $7)
                and ($8::text is null or $8 = '{SatisfactionQueries.AllCapabilities}' or $8 = any(r.capabilities))
                and ($9::text is null or ($9 = 'rated' and g.rating in ('up', 'down')) or ($9 = 'unrated' and (g.rating is null or g.rating not in ('up', 'down'))) or g.rating = $9)
                and ($10::text is null or (g.rating = 'down' and $10 = any(g.reasons)))
                and ($11::bool is null or (r.regenerated_from is not null) = $11)
                and ($12::text is null or r.surface = $12) and ($13::text is null or r.custom_instructions = $13)
                and ($14::text is null or r.experiment_arm = $14)
            order by r.occurred_at desc, r.turn_id desc limit $3
            """);
        AddCursor(command, after, afterId, limit);
        command.Parameters.Add(new NpgsqlParameter { Value = hours.First });
        command.Parameters.Add(new NpgsqlParameter { Value = hours.Last.AddHours(1) });
        foreach (var part in new[] { model, version, capability, rating, reason })
        {
            command.Parameters.Add(Text(part));
        }

        command.Parameters.Add(new NpgsqlParameter { Value = (object?)regenerated ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean });
        command.Parameters.Add(Text(surface));
        command.Parameters.Add(Text(customInstructions is { } on ? (on ? "true" : "false") : null));
        command.Parameters.Add(Text(experimentArm));
        return TypedResults.Ok(await ReadAsync(dataSource, command, limit, ct));
    }

    /// <summary>
    /// The first and last hour of [from, to) in which the cell (model, version, capability — "*" when none — and slices)
    /// counts responses, from the hourly counters (sliced or not), or null when it counts none. With a reason and no
    /// slice, the hours in which the cell counts thumbs-down with that reason (<c>sat_cell_reasons</c>, where a down counts
    /// in its response's hour). A response's hour is its time cut to the UTC hour, so the rows listed all lie in
    /// [first, last + 1 h). Only the filters given are in the statement, so each combination has its own plan.
    /// </summary>
    private static async Task<(DateTimeOffset First, DateTimeOffset Last)?> CountedHoursAsync(NpgsqlDataSource dataSource,
        DateTimeOffset from, DateTimeOffset to, string? model, string? version, string? capability, string? reason, SliceFilter slices,
        CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand();
        var byReason = Given(reason) is not null && !slices.Any;
        var where = new StringBuilder($"hour >= $1 and hour < $2 and capability = $3 and {(byReason ? "down" : "responses")} > 0");
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime() });
        command.Parameters.Add(Text(Given(capability) ?? SatisfactionQueries.AllCapabilities));
        foreach (var (column, value) in new[]
        {
            ("model_id", model), ("model_version", version), ("reason", byReason ? reason : null), ("surface", slices.Surface),
            ("custom_instructions", slices.CustomInstructions is { } on ? (on ? "true" : "false") : null), ("experiment_arm", slices.ExperimentArm),
        })
        {
            if (Given(value) is not null)
            {
                command.Parameters.Add(Text(value));
                where.Append(CultureInfo.InvariantCulture, $" and {column} = ${command.Parameters.Count}");
            }
        }

        command.CommandText = $"select min(hour), max(hour) from {(byReason ? SatisfactionProjection.CellReasons : SatisfactionQueries.CountersFor(slices))} where {where}";
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return reader.IsDBNull(0) ? null : (reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<DateTimeOffset>(1));
    }

    /// <summary>
    /// Runs one page's query. Its optional filters (<c>$n is null or …</c>) fold away only in a plan made for its values,
    /// which the API's data source asks for on every connection (<see cref="EventStoreRegistration.CreateDataSource"/>):
    /// a generic plan keeps them all and sorts the whole window, over 30 s for 30 days of a 10M-event store, where the
    /// custom plan walks <c>ix_sat_responses_occurred</c> backwards for a page in milliseconds.
    /// </summary>
    private static async Task<ConversationPage> ReadAsync(NpgsqlDataSource dataSource, NpgsqlCommand command, int limit, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using (command)
        {
            command.Connection = connection;
            var items = new List<ConversationListItem>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                items.Add(new ConversationListItem(reader.GetGuid(0), reader.GetGuid(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3),
                    reader.GetFieldValue<string[]>(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetFieldValue<string[]>(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
            }

            var last = items.Count == limit ? items[^1] : null;
            return new ConversationPage(items, last is null ? null : WriteCursor(last.OccurredAt, last.ItemId));
        }
    }

    /// <summary>Parameters $1-$3 of every source: the cursor (last row's time and id, or null) and the page size.</summary>
    private static void AddCursor(NpgsqlCommand command, DateTimeOffset? after, Guid afterId, int limit)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = after is { } at ? at.ToUniversalTime() : DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = afterId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
    }

    private static NpgsqlParameter Text(string? value) =>
        new() { Value = (object?)Given(value) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    /// <summary>A filter's value, or null when it is missing or blank (no filter).</summary>
    private static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static bool TrySplit(string? modelAtVersion, out (string Model, string Version) parts)
    {
        var at = modelAtVersion?.LastIndexOf('@') ?? -1;
        parts = at > 0 && at < modelAtVersion!.Length - 1 ? (modelAtVersion[..at], modelAtVersion[(at + 1)..]) : (string.Empty, string.Empty);
        return at > 0 && at < modelAtVersion!.Length - 1;
    }

    private static string WriteCursor(DateTimeOffset at, Guid id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{at.UtcTicks.ToString(CultureInfo.InvariantCulture)}|{id}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryReadCursor(string cursor, out DateTimeOffset? at, out Guid id)
    {
        (at, id) = (null, Guid.Empty);
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=')));
            var parts = text.Split('|');
            if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && ticks is > 0 && ticks <= DateTimeOffset.MaxValue.UtcTicks && Guid.TryParse(parts[1], out id))
            {
                at = new DateTimeOffset(ticks, TimeSpan.Zero);
                return true;
            }
        }
        catch (FormatException)
        {
        }

        return false;
    }

    private static ProblemHttpResult BadRequest(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: detail);
}
