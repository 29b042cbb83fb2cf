using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Contracts;

namespace Analytics.Ingesting;

/// <summary>The outcome of validating one raw event: the contract record, or a refusal.</summary>
public sealed record ValidatedEvent(JsonElement Raw, Guid? EventId, string? Type, object? Contract, Refusal? Refusal)
{
    public bool IsValid => Contract is not null;
}

/// <summary>
/// Turns one raw JSON event into a v1 contract record, or a refusal with a code and a reason a producer's
/// operator can act on. Unknown properties are ignored; everything documented is enforced.
/// </summary>
public static partial class FeedbackEventValidator
{
    [GeneratedRegex(ContractLimits.SlugPattern)]
    private static partial Regex Slug();

    /// <summary>Validates with the default accepted future skew of occurredAt (<see cref="IngestionOptions.DefaultMaxFutureSkew"/>).</summary>
    public static ValidatedEvent Validate(JsonElement raw, DateTimeOffset now) => Validate(raw, now, IngestionOptions.DefaultMaxFutureSkew);

    /// <param name="now">When the worker received the event.</param>
    /// <param name="maxFutureSkew">How far occurredAt may lie after <paramref name="now"/>.</param>
    public static ValidatedEvent Validate(JsonElement raw, DateTimeOffset now, TimeSpan maxFutureSkew)
    {
        if (raw.ValueKind != JsonValueKind.Object)
        {
            return Refuse(raw, null, null, Refusal.Codes.NotAnObject, $"each event must be a JSON object, got {raw.ValueKind}");
        }

        Guid? eventId = null;
        if (!raw.TryGetProperty("eventId", out var idElement) || idElement.ValueKind == JsonValueKind.Null)
        {
            return Refuse(raw, null, null, Refusal.Codes.MissingField, "missing required field 'eventId'");
        }

        if (idElement.ValueKind != JsonValueKind.String || !Guid.TryParseExact(TryGetString(idElement), "D", out var parsedId) || parsedId == Guid.Empty)
        {
            return Refuse(raw, null, null, Refusal.Codes.InvalidId, "'eventId' must be a non-empty UUID string like 0d6f8a52-3b0e-4c8e-9a59-5f1f7d2c9b11");
        }

        eventId = parsedId;

        if (!raw.TryGetProperty(FeedbackJson.TypeProperty, out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
        {
            return Refuse(raw, eventId, null, Refusal.Codes.MissingField, "missing required field 'type'");
        }

        var typeName = TryGetString(typeElement);
        if (typeName is null || !FeedbackJson.EventTypes.TryGetValue(typeName, out var contractType))
        {
            return typeName is null || TextRules.CheckIdentifier(typeName) is not null
                ? Refuse(raw, eventId, null, Refusal.Codes.UnknownType,
                    $"unknown event type (not valid text); expected one of {string.Join(", ", FeedbackJson.EventTypes.Keys)}")
                : Refuse(raw, eventId, typeName, Refusal.Codes.UnknownType,
                    $"unknown event type '{Truncate(typeName)}'; expected one of {string.Join(", ", FeedbackJson.EventTypes.Keys)}");
        }

        if (!raw.TryGetProperty("schemaVersion", out var versionElement) || versionElement.ValueKind == JsonValueKind.Null)
        {
            return Refuse(raw, eventId, typeName, Refusal.Codes.MissingField, "missing required field 'schemaVersion'");
        }

        if (versionElement.ValueKind != JsonValueKind.Number || !versionElement.TryGetInt32(out var version) || version != ContractLimits.SchemaVersion)
        {
            return Refuse(raw, eventId, typeName, Refusal.Codes.UnsupportedSchemaVersion,
                $"schemaVersion {Truncate(versionElement.GetRawText())} is not supported; this platform accepts {ContractLimits.SchemaVersion}");
        }

        object contract;
        try
        {
            contract = ContractReader.Read(raw, contractType);
        }
        catch (ContractReadException ex)
        {
            return new ValidatedEvent(raw, eventId, typeName, null, ex.Refusal);
        }

        var problem = CheckText(contract) ?? contract switch
        {
            ConversationStarted e => CheckConversationStarted(e),
            ResponseGenerated e => CheckResponseGenerated(e),
            ResponseRated e => CheckResponseRated(e),
            ResponsesCompared e => CheckResponsesCompared(e),
            _ => null,
        } ?? CheckOccurredAt(OccurredAt(contract), now, maxFutureSkew);

        return problem is null
            ? new ValidatedEvent(raw, eventId, typeName, contract, null)
            : new ValidatedEvent(raw, eventId, typeName, null, problem);
    }

    /// <summary>The conversation a validated contract belongs to.</summary>
    public static Guid ConversationId(object contract) => contract switch
    {
        ConversationStarted e => e.ConversationId,
        ResponseGenerated e => e.ConversationId,
        ResponseRated e => e.ConversationId,
        ResponsesCompared e => e.ConversationId,
        _ => throw new ArgumentException($"Unknown contract {contract.GetType().Name}", nameof(contract)),
    };

    private static DateTimeOffset OccurredAt(object contract) => contract switch
    {
        ConversationStarted e => e.OccurredAt,
        ResponseGenerated e => e.OccurredAt,
        ResponseRated e => e.OccurredAt,
        ResponsesCompared e => e.OccurredAt,
        _ => throw new ArgumentException($"Unknown contract {contract.GetType().Name}", nameof(contract)),
    };

    private static Refusal? CheckOccurredAt(DateTimeOffset occurredAt, DateTimeOffset now, TimeSpan maxFutureSkew)
    {
        if (occurredAt > now + maxFutureSkew)
        {
            return new Refusal(Refusal.Codes.InvalidField,
                FormattableString.Invariant(
                    $"'occurredAt' is {(occurredAt - now).TotalSeconds:0.###} s in the future of the time it was received; at most {maxFutureSkew.TotalSeconds:0.###} s ahead is accepted (check the producer's clock)"));
        }

        if (occurredAt < new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero))
        {
            return new Refusal(Refusal.Codes.InvalidField, "'occurredAt' is before 2000-01-01");
        }

        return null;
    }

    private static Refusal? CheckConversationStarted(ConversationStarted e) =>
        Ids(("conversationId", e.ConversationId))
        ?? Short(("source", e.Source), ("userId", e.UserId), ("surface", e.Surface), ("locale", e.Locale),
            ("personalization.profile", e.Personalization.Profile), ("experiment.id", e.Experiment?.Id), ("experiment.arm", e.Experiment?.Arm));

    private static Refusal? CheckResponseGenerated(ResponseGenerated e) =>
        Ids(("conversationId", e.ConversationId), ("turnId", e.TurnId))
        ?? Short(("source", e.Source), ("model.id", e.Model.Id), ("model.version", e.Model.Version), ("model.variant", e.Model.Variant))
        ?? Slugs("capabilities", e.Capabilities)
        ?? Slugs("modality.input", e.Modality.Input)
        ?? Slugs("modality.output", e.Modality.Output)
        ?? Slugs("moderation.categories", e.Moderation.Categories)
        ?? Range("turnIndex", e.TurnIndex, ContractLimits.MaxTurnIndex)
        ?? Range("latencyMs", e.LatencyMs, ContractLimits.MaxLatencyMs)
        ?? Range("inputTokens", e.InputTokens, ContractLimits.MaxTokens)
        ?? Range("outputTokens", e.OutputTokens, ContractLimits.MaxTokens)
        ?? (e.RegeneratedFrom == Guid.Empty ? new Refusal(Refusal.Codes.InvalidId, "'regeneratedFrom' must be a non-empty UUID") : null)
        ?? Long("promptExcerpt", e.PromptExcerpt, ContractLimits.MaxExcerpt)
        ?? Long("responseExcerpt", e.ResponseExcerpt, ContractLimits.MaxExcerpt);

    private static Refusal? CheckResponseRated(ResponseRated e) =>
        Ids(("conversationId", e.ConversationId), ("turnId", e.TurnId))
        ?? Short(("source", e.Source), ("model.id", e.Model.Id), ("model.version", e.Model.Version), ("model.variant", e.Model.Variant))
        ?? Slugs("capabilities", e.Capabilities)
        ?? Count("reasons", e.Reasons.Count)
        ?? Long("comment", e.Comment, ContractLimits.MaxComment);

    private static Refusal? CheckResponsesCompared(ResponsesCompared e)
    {
        if (e.Candidates.Count != 2)
        {
            return new Refusal(Refusal.Codes.InvalidField, $"'candidates' must hold exactly 2 entries, got {e.Candidates.Count}");
        }

        return Ids(("conversationId", e.ConversationId), ("comparisonId", e.ComparisonId),
                ("candidates[0].turnId", e.Candidates[0].TurnId), ("candidates[1].turnId", e.Candidates[1].TurnId))
            ?? Short(("source", e.Source), ("candidates[0].model.id", e.Candidates[0].Model.Id), ("candidates[0].model.version", e.Candidates[0].Model.Version),
                ("candidates[0].model.variant", e.Candidates[0].Model.Variant),
                ("candidates[1].model.id", e.Candidates[1].Model.Id), ("candidates[1].model.version", e.Candidates[1].Model.Version),
                ("candidates[1].model.variant", e.Candidates[1].Model.Variant))
            ?? Slugs("capabilities", e.Capabilities)
            ?? Count("reasons", e.Reasons?.Count ?? 0)
            ?? Long("comment", e.Comment, ContractLimits.MaxComment);
    }

    /// <summary>
    /// Every string field against <see cref="TextRules"/>: short texts as identifiers, comments and excerpts as free
    /// text. The reason names the field and what was found where, never the text.
    /// </summary>
    private static Refusal? CheckText(object contract) => contract switch
    {
        ConversationStarted e => Identifiers(("$.source", e.Source), ("$.userId", e.UserId), ("$.surface", e.Surface), ("$.locale", e.Locale),
            ("$.personalization.profile", e.Personalization.Profile), ("$.experiment.id", e.Experiment?.Id), ("$.experiment.arm", e.Experiment?.Arm)),
        ResponseGenerated e => Identifiers(("$.source", e.Source), ("$.model.id", e.Model.Id), ("$.model.version", e.Model.Version),
                ("$.model.variant", e.Model.Variant))
            ?? FreeText("$.promptExcerpt", e.PromptExcerpt)
            ?? FreeText("$.responseExcerpt", e.ResponseExcerpt),
        ResponseRated e => Identifiers(("$.source", e.Source), ("$.model.id", e.Model.Id), ("$.model.version", e.Model.Version),
                ("$.model.variant", e.Model.Variant))
            ?? FreeText("$.comment", e.Comment),
        ResponsesCompared e => Identifiers(("$.source", e.Source),
                ("$.candidates[0].model.id", e.Candidates.ElementAtOrDefault(0)?.Model.Id),
                ("$.candidates[0].model.version", e.Candidates.ElementAtOrDefault(0)?.Model.Version),
                ("$.candidates[0].model.variant", e.Candidates.ElementAtOrDefault(0)?.Model.Variant),
                ("$.candidates[1].model.id", e.Candidates.ElementAtOrDefault(1)?.Model.Id),
                ("$.candidates[1].model.version", e.Candidates.ElementAtOrDefault(1)?.Model.Version),
                ("$.candidates[1].model.variant", e.Candidates.ElementAtOrDefault(1)?.Model.Variant))
            ?? FreeText("$.comment", e.Comment),
        _ => null,
    };

    private static Refusal? Identifiers(params (string Path, string? Value)[] fields)
    {
        foreach (var (path, value) in fields)
        {
            if (value is not null && TextRules.CheckIdentifier(value) is { } problem)
            {
                return new Refusal(Refusal.Codes.InvalidText,
                    $"{path} holds {problem}; identifiers may not hold control or format (zero-width, bidi) characters");
            }
        }

        return null;
    }

    private static Refusal? FreeText(string path, string? value) =>
        value is not null && TextRules.CheckFreeText(value) is { } problem
            ? new Refusal(Refusal.Codes.InvalidText,
                $"{path} holds {problem}; text may not hold U+0000, unpaired surrogates or control characters other than tab, LF and CR")
            : null;

    /// <summary>A JSON string's text, or null when it cannot be .NET text (an unpaired surrogate escape, bytes that are not UTF-8).</summary>
    private static string? TryGetString(JsonElement element)
    {
        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static Refusal? Ids(params (string Name, Guid Value)[] ids)
    {
        foreach (var (name, value) in ids)
        {
            if (value == Guid.Empty)
            {
                return new Refusal(Refusal.Codes.InvalidId, $"'{name}' must be a non-empty UUID");
            }
        }

        return null;
    }

    private static Refusal? Short(params (string Name, string? Value)[] fields)
    {
        foreach (var (name, value) in fields)
        {
            if (value is null)
            {
                continue;
            }

            if (value.Length == 0 || string.IsNullOrWhiteSpace(value))
            {
                return new Refusal(Refusal.Codes.InvalidField, $"'{name}' must not be empty");
            }

            if (value.Length > ContractLimits.MaxShortText)
            {
                return new Refusal(Refusal.Codes.TextTooLong, $"'{name}' is {value.Length} characters; the limit is {ContractLimits.MaxShortText}");
            }
        }

        return null;
    }

    private static Refusal? Long(string name, string? value, int limit) =>
        value is not null && value.Length > limit
            ? new Refusal(Refusal.Codes.TextTooLong, $"'{name}' is {value.Length} characters; the limit is {limit}")
            : null;

    private static Refusal? Count(string name, int count) =>
        count > ContractLimits.MaxListItems
            ? new Refusal(Refusal.Codes.TooManyItems, $"'{name}' has {count} items; the limit is {ContractLimits.MaxListItems}")
            : null;

    private static Refusal? Range(string name, int value, int max) =>
        value < 0 || value > max
            ? new Refusal(Refusal.Codes.InvalidField, $"'{name}' is {value}; it must be between 0 and {max}")
            : null;

    private static Refusal? Slugs(string name, IReadOnlyList<string> values)
    {
        if (values.Count > ContractLimits.MaxListItems)
        {
            return new Refusal(Refusal.Codes.TooManyItems, $"'{name}' has {values.Count} items; the limit is {ContractLimits.MaxListItems}");
        }

        foreach (var value in values)
        {
            if (value is null || !Slug().IsMatch(value))
            {
                return new Refusal(Refusal.Codes.InvalidField,
                    $"'{name}' holds '{Truncate(value ?? "null")}'; values must be lowercase slugs ({ContractLimits.SlugPattern})");
            }
        }

        return null;
    }

    private static string Truncate(string value) => Texts.TextElements.Truncate(value, 64, "…");

    private static ValidatedEvent Refuse(JsonElement raw, Guid? eventId, string? type, string code, string reason) =>
        new(raw, eventId, type, null, new Refusal(code, reason));
}
