using Analytics.Conversations;

namespace Analytics.Satisfaction;

/// <summary>
/// The input rows of the page statement, one column list per row set: each column's name, PostgreSQL type and the
/// selector that reads its value from a folded row of <see cref="SatisfactionPage"/>. The statement's placeholders
/// (<see cref="InputsSql"/>) and the parameter arrays (<see cref="SatisfactionPage.Parameters"/>) are both generated
/// from these lists, so their order cannot drift apart. <see cref="SatisfactionRebuild"/> produces rows with the same
/// columns from mt_events.
/// </summary>
public static class SatisfactionPageColumns
{
    /// <summary>Joins a list column (capabilities, reasons) into one text value; the page SQL splits it again.</summary>
    public const char ListSeparator = '\u001f';

    /// <summary>The same separator in SQL: <c>string_to_array(list, ...)</c>, <c>array_to_string(array, ...)</c>.</summary>
    public static readonly string ListSeparatorSql = $"chr({(int)ListSeparator})";

    internal static readonly PageRowSet<ConversationRow> Conversations = new PageRowSet<ConversationRow>("conversation_rows")
        .Add("conversation_id", "uuid", c => c.ConversationId)
        .Add("started_at", "timestamptz", c => c.Data.OccurredAt.ToUniversalTime())
        .Add("surface", "text", c => c.Data.Surface)
        .Add("locale", "text", c => c.Data.Locale)
        .Add("custom_instructions", "bool", c => c.Data.Personalization.CustomInstructions)
        .Add("experiment_id", "text", c => c.Data.Experiment?.Id)
        .Add("experiment_arm", "text", c => c.Data.Experiment?.Arm);

    /// <summary>The page_* columns: the slice of the response's conversation when it started earlier in the page (null otherwise).</summary>
    internal static readonly PageRowSet<ResponseRow> Responses = new PageRowSet<ResponseRow>("response_rows")
        .Add("turn_id", "uuid", r => r.TurnId)
        .Add("conversation_id", "uuid", r => r.ConversationId)
        .Add("occurred_at", "timestamptz", r => r.Data.OccurredAt.ToUniversalTime())
        .Add("hour", "timestamptz", r => SatisfactionProjection.HourOf(r.Data.OccurredAt))
        .Add("model_id", "text", r => r.Data.Model.Id)
        .Add("model_version", "text", r => r.Data.Model.Version)
        .Add("model_variant", "text", r => r.Data.Model.Variant)
        .Add("capabilities", "text", r => Join(r.Data.Capabilities.Distinct()))
        .Add("turn_index", "int", r => r.Data.TurnIndex)
        .Add("latency_ms", "int", r => r.Data.LatencyMs)
        .Add("regenerated_from", "text", r => r.Data.RegeneratedFrom?.ToString())
        .Add("prompt_excerpt", "text", r => r.Data.PromptExcerpt)
        .Add("response_excerpt", "text", r => r.Data.ResponseExcerpt)
        .Add("page_surface", "text", r => r.Earlier?.Surface)
        .Add("page_custom_instructions", "text", r => r.Earlier is { } c ? (c.Personalization.CustomInstructions ? "true" : "false") : null)
        .Add("page_experiment_arm", "text", r => r.Earlier is { } c ? c.Experiment?.Arm ?? SatisfactionProjection.Unknown : null);

    /// <summary>The conversation of the first rating (never updated), the rest from the latest.</summary>
    internal static readonly PageRowSet<RatingRow> Ratings = new PageRowSet<RatingRow>("rating_rows")
        .Add("turn_id", "uuid", r => r.TurnId)
        .Add("conversation_id", "uuid", r => r.ConversationId)
        .Add("occurred_at", "timestamptz", r => r.Latest.OccurredAt.ToUniversalTime())
        .Add("rating", "text", r => WireNames.Wire(r.Latest.Rating))
        .Add("reasons", "text", r => Join(WireNames.Wire(r.Latest.Reasons)))
        .Add("comment", "text", r => r.Latest.Comment)
        .Add("model_id", "text", r => r.Latest.Model.Id)
        .Add("model_version", "text", r => r.Latest.Model.Version)
        .Add("capabilities", "text", r => Join(r.Latest.Capabilities.Distinct()));

    /// <summary>What the first copy inserted, with occurredAt, preference and reasons of the latest.</summary>
    internal static readonly PageRowSet<ComparisonRow> Comparisons = new PageRowSet<ComparisonRow>("comparison_rows")
        .Add("comparison_id", "uuid", c => c.ComparisonId)
        .Add("conversation_id", "uuid", c => c.ConversationId)
        .Add("occurred_at", "timestamptz", c => c.Latest.OccurredAt.ToUniversalTime())
        .Add("hour", "timestamptz", c => SatisfactionProjection.HourOf(c.First.OccurredAt))
        .Add("a_turn_id", "uuid", c => c.First.Candidates[0].TurnId)
        .Add("a_model_id", "text", c => c.First.Candidates[0].Model.Id)
        .Add("a_model_version", "text", c => c.First.Candidates[0].Model.Version)
        .Add("b_turn_id", "uuid", c => c.First.Candidates[1].TurnId)
        .Add("b_model_id", "text", c => c.First.Candidates[1].Model.Id)
        .Add("b_model_version", "text", c => c.First.Candidates[1].Model.Version)
        .Add("preferred", "text", c => WireNames.Wire(c.Latest.Preferred))
        .Add("capabilities", "text", c => Join(c.First.Capabilities.Distinct()))
        .Add("reasons", "text", c => Join(WireNames.Wire(c.Latest.Reasons)));

    /// <summary>
    /// The statement's opening: one CTE per row set, <c>select * from unnest(?::type[], ...) as t(columns)</c>, in the
    /// order of <see cref="SatisfactionPage.Parameters"/> (conversations, responses, ratings, comparisons).
    /// </summary>
    public static readonly string InputsSql =
        "with " + string.Join(",\n", new[] { Conversations.Sql, Responses.Sql, Ratings.Sql, Comparisons.Sql }) + ",";

    private static string Join(IEnumerable<string> values) => string.Join(ListSeparator, values);

    internal sealed record ConversationRow(Guid ConversationId, ConversationStartedRecorded Data);

    internal sealed record ResponseRow(Guid TurnId, Guid ConversationId, ResponseGeneratedRecorded Data, ConversationStartedRecorded? Earlier);

    internal sealed record RatingRow(Guid TurnId, Guid ConversationId, ResponseRatedRecorded Latest);

    internal sealed record ComparisonRow(Guid ComparisonId, Guid ConversationId, ResponsesComparedRecorded First, ResponsesComparedRecorded Latest);
}

/// <summary>One row set of the page statement: its CTE name and its columns, in parameter order.</summary>
internal sealed class PageRowSet<TRow>(string name)
{
    private readonly List<(string Name, string Type, Func<IReadOnlyList<TRow>, object> Values)> _columns = [];

    public string Name { get; } = name;

    /// <summary>A column whose parameter is a <typeparamref name="TValue"/>[] (Npgsql sends it as <paramref name="type"/>[]).</summary>
    public PageRowSet<TRow> Add<TValue>(string column, string type, Func<TRow, TValue> select)
    {
        _columns.Add((column, type, rows => rows.Select(select).ToArray()));
        return this;
    }

    public IEnumerable<string> ColumnNames => _columns.Select(c => c.Name);

    /// <summary><c>name as (select * from unnest(?::type[], ...) as t(column, ...))</c>.</summary>
    public string Sql =>
        $"{Name} as (\n    select * from unnest({string.Join(", ", _columns.Select(c => $"?::{c.Type}[]"))})\n" +
        $"        as t({string.Join(", ", _columns.Select(c => c.Name))}))";

    /// <summary>One array per column, in column order.</summary>
    public IEnumerable<object> Parameters(IReadOnlyList<TRow> rows) => _columns.Select(c => c.Values(rows));
}
