using Analytics.Contracts;
using Analytics.Conversations;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Weasel.Postgresql.Tables;

namespace Analytics.Satisfaction;

/// <summary>
/// Async projection of conversation streams into plain SQL tables (schema analytics, prefix sat_) that the
/// API and Grafana query with ordinary SQL. Every write is an upsert keyed by the fact's own id, so a replay
/// or a rebuild gives the same rows. A later rating of a turn replaces the earlier one (the latest
/// occurredAt wins; on a tie the later event in the store wins); "none" withdraws it. A rating that arrives
/// before its response is kept and counts as soon as the response is there (the cells join the two).
/// </summary>
public sealed partial class SatisfactionProjection : EventProjection
{
    public const string Conversations = EventStoreRegistration.SchemaName + ".sat_conversations";
    public const string Responses = EventStoreRegistration.SchemaName + ".sat_responses";
    public const string Ratings = EventStoreRegistration.SchemaName + ".sat_ratings";
    public const string Comparisons = EventStoreRegistration.SchemaName + ".sat_comparisons";

    public SatisfactionProjection()
    {
        var conversations = new Table(Conversations);
        conversations.AddColumn<Guid>("conversation_id").AsPrimaryKey();
        conversations.AddColumn<DateTimeOffset>("started_at").NotNull();
        conversations.AddColumn<string>("surface").NotNull();
        conversations.AddColumn<string>("locale").NotNull();
        conversations.AddColumn<bool>("custom_instructions").NotNull();
        conversations.AddColumn<string>("experiment_id");
        conversations.AddColumn<string>("experiment_arm");

        var responses = new Table(Responses);
        responses.AddColumn<Guid>("turn_id").AsPrimaryKey();
        responses.AddColumn<Guid>("conversation_id").NotNull();
        responses.AddColumn<DateTimeOffset>("occurred_at").NotNull();
        responses.AddColumn<DateTimeOffset>("hour").NotNull();
        responses.AddColumn<string>("model_id").NotNull();
        responses.AddColumn<string>("model_version").NotNull();
        responses.AddColumn<string>("model_variant");
        responses.AddColumn("capabilities", "text[]").NotNull();
        responses.AddColumn<int>("turn_index").NotNull();
        responses.AddColumn<int>("latency_ms").NotNull();
        responses.AddColumn<Guid>("regenerated_from");
        responses.AddColumn<string>("prompt_excerpt");
        responses.AddColumn<string>("response_excerpt");
        responses.Indexes.Add(new IndexDefinition("ix_sat_responses_hour_model") { Columns = ["hour", "model_id", "model_version"] });
        responses.Indexes.Add(new IndexDefinition("ix_sat_responses_conversation") { Columns = ["conversation_id"] });

        var ratings = new Table(Ratings);
        ratings.AddColumn<Guid>("turn_id").AsPrimaryKey();
        ratings.AddColumn<Guid>("conversation_id").NotNull();
        ratings.AddColumn<DateTimeOffset>("occurred_at").NotNull();
        ratings.AddColumn<string>("rating").NotNull();
        ratings.AddColumn("reasons", "text[]").NotNull();
        ratings.AddColumn<string>("comment");
        ratings.AddColumn<string>("model_id").NotNull();
        ratings.AddColumn<string>("model_version").NotNull();
        ratings.AddColumn("capabilities", "text[]").NotNull();

        var comparisons = new Table(Comparisons);
        comparisons.AddColumn<Guid>("comparison_id").AsPrimaryKey();
        comparisons.AddColumn<Guid>("conversation_id").NotNull();
        comparisons.AddColumn<DateTimeOffset>("occurred_at").NotNull();
        comparisons.AddColumn<DateTimeOffset>("hour").NotNull();
        comparisons.AddColumn<Guid>("a_turn_id").NotNull();
        comparisons.AddColumn<string>("a_model_id").NotNull();
        comparisons.AddColumn<string>("a_model_version").NotNull();
        comparisons.AddColumn<Guid>("b_turn_id").NotNull();
        comparisons.AddColumn<string>("b_model_id").NotNull();
        comparisons.AddColumn<string>("b_model_version").NotNull();
        comparisons.AddColumn<string>("preferred").NotNull();
        comparisons.AddColumn("capabilities", "text[]").NotNull();
        comparisons.AddColumn("reasons", "text[]").NotNull();

        foreach (var table in new[] { conversations, responses, ratings, comparisons })
        {
            SchemaObjects.Add(table);
            Options.DeleteDataInTableOnTeardown(table.Identifier.QualifiedName);
        }
    }

    public static DateTimeOffset HourOf(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    public static string Wire(Rating rating) => rating.ToString().ToLowerInvariant();

    public static string Wire(Preference preference) => preference == Preference.BothBad ? "both_bad" : preference.ToString().ToLowerInvariant();

    public static string[] Wire(IEnumerable<FeedbackReason> reasons) =>
        reasons.Select(r => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(r.ToString())).ToArray();

    private static object Nullable(object? value) => value ?? DBNull.Value;

    public void Project(IEvent<ConversationStartedRecorded> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"""
        insert into {Conversations} (conversation_id, started_at, surface, locale, custom_instructions, experiment_id, experiment_arm)
        values (?, ?, ?, ?, ?, ?, ?) on conflict (conversation_id) do nothing
        """,
        e.StreamId, e.Data.OccurredAt.ToUniversalTime(), e.Data.Surface, e.Data.Locale, e.Data.Personalization.CustomInstructions,
        Nullable(e.Data.Experiment?.Id), Nullable(e.Data.Experiment?.Arm));

    public void Project(IEvent<ResponseGeneratedRecorded> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"""
        insert into {Responses} (turn_id, conversation_id, occurred_at, hour, model_id, model_version, model_variant, capabilities,
            turn_index, latency_ms, regenerated_from, prompt_excerpt, response_excerpt)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (turn_id) do nothing
        """,
        e.Data.TurnId, e.StreamId, e.Data.OccurredAt.ToUniversalTime(), HourOf(e.Data.OccurredAt), e.Data.Model.Id, e.Data.Model.Version,
        Nullable(e.Data.Model.Variant), e.Data.Capabilities.Distinct().ToArray(), e.Data.TurnIndex, e.Data.LatencyMs,
        Nullable(e.Data.RegeneratedFrom), Nullable(e.Data.PromptExcerpt), Nullable(e.Data.ResponseExcerpt));

    public void Project(IEvent<ResponseRatedRecorded> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"""
        insert into {Ratings} as current (turn_id, conversation_id, occurred_at, rating, reasons, comment, model_id, model_version, capabilities)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?)
        on conflict (turn_id) do update set occurred_at = excluded.occurred_at, rating = excluded.rating, reasons = excluded.reasons,
            comment = excluded.comment, model_id = excluded.model_id, model_version = excluded.model_version, capabilities = excluded.capabilities
        where current.occurred_at <= excluded.occurred_at
        """,
        e.Data.TurnId, e.StreamId, e.Data.OccurredAt.ToUniversalTime(), Wire(e.Data.Rating), Wire(e.Data.Reasons),
        Nullable(e.Data.Comment), e.Data.Model.Id, e.Data.Model.Version, e.Data.Capabilities.Distinct().ToArray());

    public void Project(IEvent<ResponsesComparedRecorded> e, IDocumentOperations ops) => ops.QueueSqlCommand(
        $"""
        insert into {Comparisons} as current (comparison_id, conversation_id, occurred_at, hour, a_turn_id, a_model_id, a_model_version,
            b_turn_id, b_model_id, b_model_version, preferred, capabilities, reasons)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        on conflict (comparison_id) do update set occurred_at = excluded.occurred_at, preferred = excluded.preferred, reasons = excluded.reasons
        where current.occurred_at <= excluded.occurred_at
        """,
        e.Data.ComparisonId, e.StreamId, e.Data.OccurredAt.ToUniversalTime(), HourOf(e.Data.OccurredAt),
        e.Data.Candidates[0].TurnId, e.Data.Candidates[0].Model.Id, e.Data.Candidates[0].Model.Version,
        e.Data.Candidates[1].TurnId, e.Data.Candidates[1].Model.Id, e.Data.Candidates[1].Model.Version,
        Wire(e.Data.Preferred), e.Data.Capabilities.Distinct().ToArray(), Wire(e.Data.Reasons));
}
